'use strict';
// Drives a host-driven run of a 10-task graph through the processes C ABI from Node with
// koffi: the event loop stays free (waiting goes through koffi's async call on a worker),
// task bodies are Promises that complete their assignment when they settle, one task fails,
// its dependents are skipped, and the report is read through the accessors and as JSON.

const path = require('node:path');
const { promisify } = require('node:util');
const koffi = require('koffi');

const root = path.resolve(__dirname, '..', '..', '..');
const lib = koffi.load(process.env.PROCESSES_LIB || path.join(root, 'target/debug/libprocesses.so'));

for (const name of ['prc_error', 'prc_value', 'prc_task', 'prc_process_builder', 'prc_process',
  'prc_run_options', 'prc_hosted_run', 'prc_assignment', 'prc_report', 'prc_entry']) {
  koffi.opaque(name);
}
const fn = (proto) => lib.func(proto);
const api = {
  version: fn('const char *prc_version(void)'),
  errorMessage: fn('const char *prc_error_message(const prc_error *error)'),
  errorFree: fn('void prc_error_free(prc_error *error)'),
  statusName: fn('const char *prc_status_name(uint32_t status)'),
  stringFree: fn('void prc_string_free(void *text)'),
  valueNewInt: fn('prc_value *prc_value_new_int(int64_t v)'),
  valueFree: fn('void prc_value_free(prc_value *v)'),
  valueAsInt: fn('uint32_t prc_value_as_int(const prc_value *v, _Out_ int64_t *out, _Out_ prc_error **e)'),
  taskNew: fn('uint32_t prc_task_new(const char *name, void *cb, void *data, void *fin, _Out_ prc_task **out, _Out_ prc_error **e)'),
  taskAddDependency: fn('uint32_t prc_task_add_dependency(prc_task *t, const char *on, uint32_t how, const char *arg, _Out_ prc_error **e)'),
  taskFree: fn('void prc_task_free(prc_task *t)'),
  builderNew: fn('uint32_t prc_process_builder_new(const char *name, _Out_ prc_process_builder **out, _Out_ prc_error **e)'),
  builderAdd: fn('uint32_t prc_process_builder_add_task(prc_process_builder *b, const prc_task *t, _Out_ prc_error **e)'),
  builderFree: fn('void prc_process_builder_free(prc_process_builder *b)'),
  build: fn('uint32_t prc_process_build(const prc_process_builder *b, _Out_ prc_process **out, _Out_ prc_error **e)'),
  processFree: fn('void prc_process_free(prc_process *p)'),
  optionsNew: fn('prc_run_options *prc_run_options_new(void)'),
  optionsInFlight: fn('uint32_t prc_run_options_set_max_in_flight(prc_run_options *o, size_t n, _Out_ prc_error **e)'),
  optionsFree: fn('void prc_run_options_free(prc_run_options *o)'),
  startHosted: fn('uint32_t prc_process_start_hosted(const prc_process *p, const prc_run_options *o, _Out_ prc_hosted_run **out, _Out_ prc_error **e)'),
  nextBatch: fn('uint32_t prc_hosted_run_next_batch(const prc_hosted_run *r, void *items, size_t cap, _Out_ size_t *count, _Out_ prc_error **e)'),
  wait: fn('uint32_t prc_hosted_run_wait(const prc_hosted_run *r, double timeout, _Out_ uint32_t *out, _Out_ prc_error **e)'),
  hostedReport: fn('uint32_t prc_hosted_run_report(const prc_hosted_run *r, _Out_ prc_report **out, _Out_ prc_error **e)'),
  hostedFree: fn('void prc_hosted_run_free(prc_hosted_run *r)'),
  assignmentName: fn('const char *prc_assignment_name(const prc_assignment *a)'),
  assignmentArgCount: fn('size_t prc_assignment_arg_count(const prc_assignment *a)'),
  assignmentArg: fn('uint32_t prc_assignment_arg(const prc_assignment *a, size_t i, _Out_ prc_value **out, _Out_ prc_error **e)'),
  assignmentKwargCount: fn('size_t prc_assignment_kwarg_count(const prc_assignment *a)'),
  assignmentKwargAt: fn('uint32_t prc_assignment_kwarg_at(const prc_assignment *a, size_t i, _Out_ const char **name, _Out_ prc_value **value, _Out_ prc_error **e)'),
  assignmentSucceed: fn('uint32_t prc_assignment_succeed(const prc_assignment *a, const prc_value *v, _Out_ prc_error **e)'),
  assignmentFail: fn('uint32_t prc_assignment_fail(const prc_assignment *a, const char *kind, const char *msg, const char *tb, const char *loc, _Out_ prc_error **e)'),
  assignmentFree: fn('void prc_assignment_free(prc_assignment *a)'),
  reportLen: fn('size_t prc_report_len(const prc_report *r)'),
  reportEntry: fn('uint32_t prc_report_entry(const prc_report *r, size_t i, _Out_ prc_entry **out, _Out_ prc_error **e)'),
  reportToJson: fn('uint32_t prc_report_to_json(const prc_report *r, bool pretty, _Out_ void **out, _Out_ prc_error **e)'),
  reportFree: fn('void prc_report_free(prc_report *r)'),
  entryName: fn('const char *prc_entry_name(const prc_entry *e)'),
  entryStatus: fn('uint32_t prc_entry_status(const prc_entry *e)'),
  entryResult: fn('prc_value *prc_entry_result(const prc_entry *e)'),
  entryErrorMessage: fn('const char *prc_entry_error_message(const prc_entry *e)'),
  entryDownstreamCount: fn('size_t prc_entry_downstream_count(const prc_entry *e)'),
};
const waitAsync = promisify(api.wait.async);

const OK = 0;
const INJECTION = { none: 0, positional: 1, named: 2 };
const READINESS = { ready: 0, finished: 1, timedOut: 2 };
const STATUS = ['success', 'errored', 'skipped', 'cancelled'];

/** One error class for every failed call, carrying the status name as `.code`. */
class ProcessesError extends Error {
  constructor(status, message) {
    super(message);
    this.code = api.statusName(status);
  }
}

/** Calls a C function whose last argument is `prc_error **`, throwing on failure. */
function call(f, ...args) {
  const error = [null];
  const status = f(...args, error);
  if (status !== OK) {
    const message = api.errorMessage(error[0]);
    api.errorFree(error[0]);
    throw new ProcessesError(status, message);
  }
}

function out(f, ...args) {
  const result = [null];
  call(f, ...args, result);
  return result[0];
}

// The same graph as the Go smoke test: t3 fails, t5 and t6 are skipped.
const graph = [
  ['t9', [['t7'], ['t8', '-']]],
  ['t0', []],
  ['t1', [['t0']]],
  ['t2', [['t0', 'x']]],
  ['t3', []],
  ['t4', [['t1'], ['t2']]],
  ['t5', [['t3']]],
  ['t6', [['t5']]],
  ['t7', [['t4']]],
  ['t8', []],
];

function build() {
  const builder = out(api.builderNew, 'smoke');
  try {
    for (const [name, deps] of graph) {
      const task = out(api.taskNew, name, null, null, null);
      try {
        for (const [on, arg] of deps) {
          if (arg === undefined) call(api.taskAddDependency, task, on, INJECTION.positional, null);
          else if (arg === '-') call(api.taskAddDependency, task, on, INJECTION.none, null);
          else call(api.taskAddDependency, task, on, INJECTION.named, arg);
        }
        call(api.builderAdd, builder, task);
      } finally {
        api.taskFree(task);
      }
    }
    return out(api.build, builder);
  } finally {
    api.builderFree(builder);
  }
}

function intOf(value) {
  return Number(out(api.valueAsInt, value));
}

/** A task body: resolves later, with the sum of its integer arguments plus one. */
async function body(assignment) {
  const name = api.assignmentName(assignment);
  await new Promise((resolve) => setTimeout(resolve, 2));
  if (name === 't3') throw new Error('t3 failed on purpose');
  let sum = 1;
  for (let i = 0; i < api.assignmentArgCount(assignment); i++) {
    sum += intOf(out(api.assignmentArg, assignment, i));
  }
  for (let i = 0; i < api.assignmentKwargCount(assignment); i++) {
    const key = [null];
    const value = [null];
    call(api.assignmentKwargAt, assignment, i, key, value);
    sum += intOf(value[0]);
  }
  return sum;
}

/** Runs one assignment and settles it; a thrown error becomes the task's failure. */
async function settle(assignment) {
  try {
    const result = await body(assignment);
    const value = api.valueNewInt(result);
    try {
      call(api.assignmentSucceed, assignment, value);
    } finally {
      api.valueFree(value);
    }
  } catch (error) {
    call(api.assignmentFail, assignment, 'Error', String(error.message), String(error.stack), null);
  } finally {
    api.assignmentFree(assignment);
  }
}

async function drive(processHandle) {
  const options = api.optionsNew();
  let run;
  try {
    call(api.optionsInFlight, options, 4);
    run = out(api.startHosted, processHandle, options);
  } finally {
    api.optionsFree(options);
  }
  const running = new Set();
  const items = new BigUint64Array(8);
  try {
    for (;;) {
      const readiness = [0];
      const error = [null];
      const status = await waitAsync(run, 1.0, readiness, error);
      if (status !== OK) {
        const message = api.errorMessage(error[0]);
        api.errorFree(error[0]);
        throw new ProcessesError(status, message);
      }
      if (readiness[0] === READINESS.finished) break;
      const count = out(api.nextBatch, run, items, items.length);
      for (let i = 0; i < Number(count); i++) {
        const job = settle(items[i]).finally(() => running.delete(job));
        running.add(job);
      }
    }
    await Promise.all(running);
    return out(api.hostedReport, run);
  } finally {
    api.hostedFree(run);
  }
}

function verify(report) {
  const want = {
    t0: 'success', t1: 'success', t2: 'success', t3: 'errored', t4: 'success',
    t5: 'skipped', t6: 'skipped', t7: 'success', t8: 'success', t9: 'success',
  };
  const length = Number(api.reportLen(report));
  if (length !== 10) throw new Error(`report has ${length} entries`);
  for (let i = 0; i < length; i++) {
    const entry = out(api.reportEntry, report, i);
    const name = api.entryName(entry);
    const status = STATUS[api.entryStatus(entry)];
    if (status !== want[name]) throw new Error(`${name} ended ${status}, want ${want[name]}`);
    if (name === 't9' && intOf(api.entryResult(entry)) !== 7) throw new Error('t9 result');
    if (name === 't3') {
      if (api.entryErrorMessage(entry) !== 't3 failed on purpose') throw new Error('t3 message');
      if (Number(api.entryDownstreamCount(entry)) !== 2) throw new Error('t3 downstream');
    }
  }
  const text = out(api.reportToJson, report, false);
  let json;
  try {
    json = JSON.parse(koffi.decode(text, 'char', -1));
  } finally {
    api.stringFree(text);
  }
  const { success, errored, skipped } = json.counts;
  if (success !== 7 || errored !== 1 || skipped !== 2) {
    throw new Error(`JSON counts ${JSON.stringify(json.counts)}`);
  }
}

async function main() {
  if (!/^\d+\.\d+\.\d+$/.test(api.version())) throw new Error('bad version');
  const processHandle = build();
  let report;
  try {
    report = await drive(processHandle);
  } finally {
    api.processFree(processHandle);
  }
  try {
    verify(report);
  } finally {
    api.reportFree(report);
  }
  // A bad call surfaces as a ProcessesError with a code.
  try {
    out(api.builderNew, null);
    throw new Error('a NULL name was accepted');
  } catch (error) {
    if (error.code !== 'PRC_STATUS_NULL_ARGUMENT') throw error;
  }
  console.log('ffi-smoke (node): ok');
}

const timer = setTimeout(() => {
  console.error('ffi-smoke (node): timed out');
  process.exit(1);
}, 30000);
main().then(() => clearTimeout(timer), (error) => {
  console.error('ffi-smoke (node):', error);
  process.exit(1);
});
