// Command ffi-smoke drives a host-driven run of a 10-task graph through the C ABI from Go:
// tasks run as goroutines, one fails, its dependents are skipped, and the report is read both
// through the accessors and as JSON. A foreign value carries a cgo.Handle (never a Go
// pointer) and must be dropped exactly once.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: -L${SRCDIR}/../../../target/debug -lprocesses -Wl,-rpath,${SRCDIR}/../../../target/debug
#include <stdlib.h>
#include "processes.h"

extern void goDropObject(void *data);

// Handles travel as integers; these turn them into the void * the ABI carries.
static inline void *handle_to_ptr(uintptr_t handle) { return (void *)handle; }
static inline prc_foreign_drop_fn drop_object(void) { return goDropObject; }
static inline prc_assignment *item_at(prc_assignment **items, size_t i) { return items[i]; }
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

type goObject struct {
	name  string
	drops atomic.Int32
}

// check turns a status and its error object into a Go error.
func check(status C.prc_status, cerr *C.prc_error) error {
	if status == C.PRC_STATUS_OK {
		return nil
	}
	defer C.prc_error_free(cerr)
	return fmt.Errorf("%s: %s", C.GoString(C.prc_status_name(C.uint32_t(status))),
		C.GoString(C.prc_error_message(cerr)))
}

func cstr(s string) *C.char { return C.CString(s) }

type dep struct {
	on, arg string // arg "" means positional
}

// The graph: t3 fails, so t5 and t6 are skipped; t8 returns a Go object.
var graph = []struct {
	name string
	deps []dep
}{
	{"t9", []dep{{"t7", ""}, {"t8", "-"}}},
	{"t0", nil},
	{"t1", []dep{{"t0", ""}}},
	{"t2", []dep{{"t0", "x"}}},
	{"t3", nil},
	{"t4", []dep{{"t1", ""}, {"t2", ""}}},
	{"t5", []dep{{"t3", ""}}},
	{"t6", []dep{{"t5", ""}}},
	{"t7", []dep{{"t4", ""}}},
	{"t8", nil},
}

func build() (*C.prc_process, error) {
	name := cstr("smoke")
	defer C.free(unsafe.Pointer(name))
	var builder *C.prc_process_builder
	var cerr *C.prc_error
	if err := check(C.prc_process_builder_new(name, &builder, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.prc_process_builder_free(builder)
	for _, t := range graph {
		tname := cstr(t.name)
		var task *C.prc_task
		err := check(C.prc_task_new(tname, nil, nil, nil, &task, &cerr), cerr)
		C.free(unsafe.Pointer(tname))
		if err != nil {
			return nil, err
		}
		for _, d := range t.deps {
			on := cstr(d.on)
			injection, arg := C.uint32_t(C.PRC_INJECTION_POSITIONAL), (*C.char)(nil)
			switch d.arg {
			case "":
			case "-":
				injection = C.PRC_INJECTION_NONE
			default:
				injection, arg = C.PRC_INJECTION_NAMED, cstr(d.arg)
			}
			err = check(C.prc_task_add_dependency(task, on, injection, arg, &cerr), cerr)
			C.free(unsafe.Pointer(on))
			C.free(unsafe.Pointer(arg))
			if err != nil {
				return nil, err
			}
		}
		err = check(C.prc_process_builder_add_task(builder, task, &cerr), cerr)
		C.prc_task_free(task)
		if err != nil {
			return nil, err
		}
	}
	var process *C.prc_process
	if err := check(C.prc_process_build(builder, &process, &cerr), cerr); err != nil {
		return nil, err
	}
	return process, nil
}

// runTask is a task body: the sum of its integer arguments plus one.
func runTask(a *C.prc_assignment, object *goObject) error {
	defer C.prc_assignment_free(a)
	var cerr *C.prc_error
	name := C.GoString(C.prc_assignment_name(a))
	time.Sleep(2 * time.Millisecond)
	if name == "t3" {
		kind, msg := cstr("GoError"), cstr("t3 failed on purpose")
		defer C.free(unsafe.Pointer(kind))
		defer C.free(unsafe.Pointer(msg))
		return check(C.prc_assignment_fail(a, kind, msg, nil, nil, &cerr), cerr)
	}
	if name == "t8" {
		handle := cgo.NewHandle(object)
		display := cstr("go-object")
		defer C.free(unsafe.Pointer(display))
		var value *C.prc_value
		err := check(C.prc_value_new_foreign(C.handle_to_ptr(C.uintptr_t(handle)),
			C.drop_object(), display, &value, &cerr), cerr)
		if err != nil {
			handle.Delete()
			return err
		}
		defer C.prc_value_free(value)
		return check(C.prc_assignment_succeed(a, value, &cerr), cerr)
	}
	sum := int64(1)
	for i := C.size_t(0); i < C.prc_assignment_arg_count(a); i++ {
		var v *C.prc_value
		var n C.int64_t
		if err := check(C.prc_assignment_arg(a, i, &v, &cerr), cerr); err != nil {
			return err
		}
		if err := check(C.prc_value_as_int(v, &n, &cerr), cerr); err != nil {
			return err
		}
		sum += int64(n)
	}
	for i := C.size_t(0); i < C.prc_assignment_kwarg_count(a); i++ {
		var v *C.prc_value
		var key *C.char
		var n C.int64_t
		if err := check(C.prc_assignment_kwarg_at(a, i, &key, &v, &cerr), cerr); err != nil {
			return err
		}
		if err := check(C.prc_value_as_int(v, &n, &cerr), cerr); err != nil {
			return err
		}
		sum += int64(n)
	}
	value := C.prc_value_new_int(C.int64_t(sum))
	defer C.prc_value_free(value)
	return check(C.prc_assignment_succeed(a, value, &cerr), cerr)
}

func drive(process *C.prc_process, object *goObject) (*C.prc_report, error) {
	var cerr *C.prc_error
	options := C.prc_run_options_new()
	defer C.prc_run_options_free(options)
	if err := check(C.prc_run_options_set_max_in_flight(options, 4, &cerr), cerr); err != nil {
		return nil, err
	}
	var run *C.prc_hosted_run
	if err := check(C.prc_process_start_hosted(process, options, &run, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.prc_hosted_run_free(run)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	items := (**C.prc_assignment)(C.malloc(C.size_t(8) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(items))
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			return nil, errors.New("the run did not finish within 20 s")
		}
		var readiness C.uint32_t
		if err := check(C.prc_hosted_run_wait(run, 1.0, &readiness, &cerr), cerr); err != nil {
			return nil, err
		}
		if readiness == C.PRC_READINESS_FINISHED {
			break
		}
		var count C.size_t
		if err := check(C.prc_hosted_run_next_batch(run, items, 8, &count, &cerr), cerr); err != nil {
			return nil, err
		}
		for i := C.size_t(0); i < count; i++ {
			a := C.item_at(items, i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := runTask(a, object); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	var report *C.prc_report
	if err := check(C.prc_hosted_run_report(run, &report, &cerr), cerr); err != nil {
		return nil, err
	}
	return report, nil
}

func verify(report *C.prc_report) error {
	var cerr *C.prc_error
	want := map[string]C.prc_task_status{
		"t0": C.PRC_TASK_STATUS_SUCCESS, "t1": C.PRC_TASK_STATUS_SUCCESS,
		"t2": C.PRC_TASK_STATUS_SUCCESS, "t3": C.PRC_TASK_STATUS_ERRORED,
		"t4": C.PRC_TASK_STATUS_SUCCESS, "t5": C.PRC_TASK_STATUS_SKIPPED,
		"t6": C.PRC_TASK_STATUS_SKIPPED, "t7": C.PRC_TASK_STATUS_SUCCESS,
		"t8": C.PRC_TASK_STATUS_SUCCESS, "t9": C.PRC_TASK_STATUS_SUCCESS,
	}
	if n := C.prc_report_len(report); n != 10 {
		return fmt.Errorf("report has %d entries", n)
	}
	for i := C.size_t(0); i < 10; i++ {
		var entry *C.prc_entry
		if err := check(C.prc_report_entry(report, i, &entry, &cerr), cerr); err != nil {
			return err
		}
		name := C.GoString(C.prc_entry_name(entry))
		if got := C.prc_entry_status(entry); got != want[name] {
			return fmt.Errorf("%s ended with status %d, want %d", name, got, want[name])
		}
	}
	result := func(name string) (int64, error) {
		cname := cstr(name)
		defer C.free(unsafe.Pointer(cname))
		var entry *C.prc_entry
		var n C.int64_t
		if err := check(C.prc_report_find(report, cname, &entry, &cerr), cerr); err != nil {
			return 0, err
		}
		err := check(C.prc_value_as_int(C.prc_entry_result(entry), &n, &cerr), cerr)
		return int64(n), err
	}
	// t0 = 1, t1 = t2 = 2, t4 = 5, t7 = 6, t9 = 7.
	if n, err := result("t9"); err != nil || n != 7 {
		return fmt.Errorf("t9 = %d (%v), want 7", n, err)
	}
	t3 := cstr("t3")
	defer C.free(unsafe.Pointer(t3))
	var failed *C.prc_entry
	if err := check(C.prc_report_find(report, t3, &failed, &cerr), cerr); err != nil {
		return err
	}
	if msg := C.GoString(C.prc_entry_error_message(failed)); msg != "t3 failed on purpose" {
		return fmt.Errorf("t3 message %q", msg)
	}
	if n := C.prc_entry_downstream_count(failed); n != 2 {
		return fmt.Errorf("t3 took down %d tasks, want 2", n)
	}

	var text *C.char
	if err := check(C.prc_report_to_json(report, false, &text, &cerr), cerr); err != nil {
		return err
	}
	defer C.prc_string_free(text)
	var parsed struct {
		Counts  map[string]int `json:"counts"`
		Entries []struct {
			Name   string          `json:"name"`
			Status string          `json:"status"`
			Result json.RawMessage `json:"result"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(C.GoString(text)), &parsed); err != nil {
		return fmt.Errorf("report JSON: %w", err)
	}
	if parsed.Counts["success"] != 7 || parsed.Counts["errored"] != 1 || parsed.Counts["skipped"] != 2 {
		return fmt.Errorf("JSON counts %v", parsed.Counts)
	}
	for _, e := range parsed.Entries {
		if e.Name == "t8" && !json.Valid(e.Result) {
			return fmt.Errorf("t8 result %s", e.Result)
		}
	}
	return nil
}

func main() {
	if err := smoke(); err != nil {
		fmt.Fprintln(os.Stderr, "ffi-smoke (go):", err)
		os.Exit(1)
	}
	fmt.Println("ffi-smoke (go): ok")
}

func smoke() error {
	if v := C.GoString(C.prc_version()); v != C.PRC_VERSION_STRING {
		return fmt.Errorf("library %s, header %s", v, C.PRC_VERSION_STRING)
	}
	process, err := build()
	if err != nil {
		return err
	}
	object := &goObject{name: "go-object"}
	report, err := drive(process, object)
	C.prc_process_free(process)
	if err != nil {
		return err
	}
	err = verify(report)
	C.prc_report_free(report)
	if err != nil {
		return err
	}
	// The report was the object's last holder.
	if n := object.drops.Load(); n != 1 {
		return fmt.Errorf("the Go object was dropped %d times, want 1", n)
	}
	return nil
}
