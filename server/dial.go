package main

import (
	"context"
	"errors"
	"io"
)

func cmdDial(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("dial: the gateway is not built yet")
}
