package main

// This file holds the functions C calls back; a file with //export may only declare in its
// preamble.

/*
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/cgo"
	"unsafe"
)

// goDropObject releases the Go object behind a foreign value. The library calls it exactly
// once, on whichever thread lets go of the value last; a panic must not cross into Rust.
//
//export goDropObject
func goDropObject(data unsafe.Pointer) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "ffi-smoke: drop callback panicked: %v\n", r)
		}
	}()
	handle := cgo.Handle(uintptr(data))
	object := handle.Value().(*goObject)
	object.drops.Add(1)
	handle.Delete()
}
