module processes/ffi-smoke

go 1.21
