/* The scheduler benchmark's C front end: the shapes and bodies of shared/bench/WORKLOADS.md,
 * built and run through the C ABI with C callbacks, printing one JSON line per cell in the
 * same form as the Rust benchmark (`cargo bench --bench scheduler`), with "front_end": "c".
 *
 *   scheduler_c [--shape S[,S..]] [--body B[,B..]] [--workers W[,W..]] [--size N] [--runs N]
 *
 * Bodies: empty, pass, spin:U. Figures are medians of --runs measured runs after one warm-up.
 * scripts/bench_c.py runs this program and the Rust benchmark in turn on the same cells and
 * reports their ratio; the graph digest and the result checksum prove both did the same work.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "processes.h"

#define LAYERS 100
#define PARENTS 4
#define SEED UINT64_C(0x9E3779B97F4A7C15)

enum body_kind { BODY_EMPTY, BODY_PASS, BODY_SPIN };

struct body {
  enum body_kind kind;
  unsigned spin_us;
};

/* A graph as dependency lists: deps[dep_start[i] .. dep_start[i + 1]] are task i's. */
struct shape {
  const char *id;
  size_t tasks;
  uint32_t *dep_start;
  uint32_t *deps;
  size_t edges;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void die(const char *what, prc_error *error) {
  fprintf(stderr, "scheduler_c: %s: %s\n", what, error ? prc_error_message(error) : "");
  prc_error_free(error);
  exit(1);
}

static void *checked_alloc(size_t bytes) {
  void *memory = malloc(bytes ? bytes : 1);
  if (memory == NULL) {
    fprintf(stderr, "scheduler_c: out of memory (%zu bytes)\n", bytes);
    exit(1);
  }
  return memory;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values, size_t count) {
  qsort(values, count, sizeof *values, compare_doubles);
  return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

static double round3(double value) {
  return (double)(int64_t)(value * 1e3 + (value >= 0 ? 0.5 : -0.5)) / 1e3;
}

/* ---- shapes ----------------------------------------------------------------------------- */

static size_t default_size(const char *id) {
  if (strcmp(id, "independent") == 0) return 1000000;
  if (strcmp(id, "chain") == 0 || strcmp(id, "fan") == 0) return 100000;
  if (strcmp(id, "layered") == 0) return 1000 * LAYERS;
  if (strcmp(id, "tree") == 0) return (1u << 17) - 1;
  return 0;
}

static uint64_t xorshift(uint64_t *state) {
  uint64_t s = *state;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  *state = s;
  return s;
}

/* Builds shape `id` for about `size` tasks, exactly as benches/scheduler/shapes.rs does. */
static struct shape build_shape(const char *id, size_t size) {
  struct shape shape = {id, 0, NULL, NULL, 0};
  size_t width = 0, middles = 0;
  if (strcmp(id, "independent") == 0 || strcmp(id, "chain") == 0) {
    shape.tasks = size;
    shape.edges = strcmp(id, "chain") == 0 && size > 0 ? size - 1 : 0;
  } else if (strcmp(id, "fan") == 0) {
    middles = size;
    shape.tasks = middles + 2;
    shape.edges = 2 * middles;
  } else if (strcmp(id, "layered") == 0) {
    width = size / LAYERS < PARENTS ? PARENTS : size / LAYERS;
    shape.tasks = width * LAYERS;
    shape.edges = width * (LAYERS - 1) * PARENTS;
  } else {
    /* The complete tree whose task count is nearest `size`: depth round(log2(size + 1)). */
    double nodes = (double)size + 1.0;
    size_t depth = 0;
    while (depth < 30 && (double)((size_t)1 << (depth + 1)) <= nodes) depth++;
    if (depth < 30 && nodes >= (double)((size_t)1 << depth) * 1.4142135623730951) depth++;
    if (depth < 1) depth = 1;
    shape.tasks = ((size_t)1 << depth) - 1;
    shape.edges = shape.tasks - 1;
  }
  shape.dep_start = checked_alloc((shape.tasks + 1) * sizeof(uint32_t));
  shape.deps = checked_alloc(shape.edges * sizeof(uint32_t));

  uint64_t rng = SEED;
  size_t filled = 0;
  for (size_t i = 0; i < shape.tasks; i++) {
    shape.dep_start[i] = (uint32_t)filled;
    if (strcmp(id, "chain") == 0) {
      if (i > 0) shape.deps[filled++] = (uint32_t)(i - 1);
    } else if (strcmp(id, "fan") == 0) {
      if (i == middles + 1)
        for (size_t m = 1; m <= middles; m++) shape.deps[filled++] = (uint32_t)m;
      else if (i > 0)
        shape.deps[filled++] = 0;
    } else if (strcmp(id, "layered") == 0) {
      size_t layer = i / width;
      size_t drawn[PARENTS], count = 0;
      while (layer > 0 && count < PARENTS) {
        size_t draw = (size_t)(xorshift(&rng) % width);
        bool seen = false;
        for (size_t k = 0; k < count; k++) seen = seen || drawn[k] == draw;
        if (!seen) {
          drawn[count++] = draw;
          shape.deps[filled++] = (uint32_t)((layer - 1) * width + draw);
        }
      }
    } else if (strcmp(id, "tree") == 0) {
      size_t left = 2 * i + 1;
      if (left + 1 < shape.tasks) {
        shape.deps[filled++] = (uint32_t)left;
        shape.deps[filled++] = (uint32_t)(left + 1);
      }
    }
  }
  shape.dep_start[shape.tasks] = (uint32_t)filled;
  shape.edges = filled;
  return shape;
}

/* FNV-1a over the task count and every (task, dependency) pair, as the Rust side computes. */
static uint64_t digest(const struct shape *shape) {
  uint64_t hash = UINT64_C(0xcbf29ce484222325);
  uint32_t words[2];
  words[0] = (uint32_t)shape->tasks;
  for (int b = 0; b < 4; b++) {
    hash ^= (words[0] >> (8 * b)) & 0xff;
    hash *= UINT64_C(0x00000100000001b3);
  }
  for (size_t i = 0; i < shape->tasks; i++) {
    for (uint32_t d = shape->dep_start[i]; d < shape->dep_start[i + 1]; d++) {
      words[0] = (uint32_t)i;
      words[1] = shape->deps[d];
      for (int w = 0; w < 2; w++)
        for (int b = 0; b < 4; b++) {
          hash ^= (words[w] >> (8 * b)) & 0xff;
          hash *= UINT64_C(0x00000100000001b3);
        }
    }
  }
  return hash;
}

/* ---- bodies ----------------------------------------------------------------------------- */

static uint32_t empty_body(void *user_data, prc_context *context) {
  (void)user_data;
  (void)context;
  return PRC_OUTCOME_SUCCESS;
}

static void spin(unsigned micros) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
           (long)micros * 1000L);
}

static uint32_t spin_body(void *user_data, prc_context *context) {
  (void)context;
  spin(*(const unsigned *)user_data);
  return PRC_OUTCOME_SUCCESS;
}

/* One plus the wrapping sum of the arguments (the dependencies' results). */
static uint32_t pass_body(void *user_data, prc_context *context) {
  (void)user_data;
  size_t count = 0;
  if (prc_context_arg_count(context, &count, NULL) != PRC_STATUS_OK) return PRC_OUTCOME_FAILURE;
  uint64_t sum = 1;
  for (size_t i = 0; i < count; i++) {
    int64_t value = 0;
    if (prc_context_arg_int(context, i, &value, NULL) == PRC_STATUS_OK) sum += (uint64_t)value;
  }
  prc_status status = prc_context_set_result_int(context, (int64_t)sum, NULL);
  return status == PRC_STATUS_OK ? PRC_OUTCOME_SUCCESS : PRC_OUTCOME_FAILURE;
}

/* ---- one cell --------------------------------------------------------------------------- */

/* Builds the process of `shape` through the C ABI: one task handle per task, dependencies by
 * name, then validation and ordering in prc_process_build. */
static prc_process *build_process(const struct shape *shape, const struct body *body) {
  prc_error *error = NULL;
  prc_process_builder *builder = NULL;
  if (prc_process_builder_new(shape->id, &builder, &error) != PRC_STATUS_OK)
    die("prc_process_builder_new", error);
  prc_task_fn callback = body->kind == BODY_PASS   ? pass_body
                         : body->kind == BODY_SPIN ? spin_body
                                                   : empty_body;
  void *user_data = (void *)&body->spin_us;
  uint32_t injection = body->kind == BODY_PASS ? PRC_INJECTION_POSITIONAL : PRC_INJECTION_NONE;
  char name[16], dep_name[16];
  for (size_t i = 0; i < shape->tasks; i++) {
    snprintf(name, sizeof name, "t%zu", i);
    prc_task *task = NULL;
    if (prc_task_new(name, callback, user_data, NULL, &task, &error) != PRC_STATUS_OK)
      die("prc_task_new", error);
    for (uint32_t d = shape->dep_start[i]; d < shape->dep_start[i + 1]; d++) {
      snprintf(dep_name, sizeof dep_name, "t%" PRIu32, shape->deps[d]);
      if (prc_task_add_dependency(task, dep_name, injection, NULL, &error) != PRC_STATUS_OK)
        die("prc_task_add_dependency", error);
    }
    if (prc_process_builder_add_task(builder, task, &error) != PRC_STATUS_OK)
      die("prc_process_builder_add_task", error);
    prc_task_free(task);
  }
  prc_process *process = NULL;
  if (prc_process_build(builder, &process, &error) != PRC_STATUS_OK)
    die("prc_process_build", error);
  prc_process_builder_free(builder);
  return process;
}

/* Checks that every task succeeded and returns the wrapping sum of the integer results. */
static int64_t check(const prc_report *report, size_t tasks) {
  prc_error *error = NULL;
  prc_counts counts;
  if (prc_report_counts(report, &counts, &error) != PRC_STATUS_OK)
    die("prc_report_counts", error);
  if (counts.success != tasks || prc_report_len(report) != tasks) {
    fprintf(stderr, "scheduler_c: %zu of %zu tasks succeeded\n", counts.success, tasks);
    exit(1);
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < tasks; i++) {
    const prc_entry *entry = NULL;
    int64_t value = 0;
    if (prc_report_entry(report, i, &entry, NULL) == PRC_STATUS_OK &&
        prc_value_as_int(prc_entry_result(entry), &value, NULL) == PRC_STATUS_OK)
      sum += (uint64_t)value;
  }
  return (int64_t)sum;
}

static void body_label(const struct body *body, char *out, size_t size) {
  if (body->kind == BODY_SPIN)
    snprintf(out, size, "spin:%u", body->spin_us);
  else
    snprintf(out, size, "%s", body->kind == BODY_PASS ? "pass" : "empty");
}

static void print_list(const char *field, const double *values, size_t count) {
  printf("\"%s\":[", field);
  for (size_t i = 0; i < count; i++) printf("%s%.3f", i ? "," : "", round3(values[i]));
  printf("],");
}

static void measure(const struct shape *shape, size_t size, const struct body *body,
                    size_t workers, size_t runs) {
  double *builds = checked_alloc(runs * sizeof(double));
  double *times = checked_alloc(runs * sizeof(double));
  double *sorted = checked_alloc(runs * sizeof(double));
  int64_t checksum = 0;
  prc_error *error = NULL;
  prc_run_options *options = prc_run_options_new();
  if (prc_run_options_set_parallel(options, workers > 1, &error) != PRC_STATUS_OK ||
      prc_run_options_set_max_workers(options, workers, &error) != PRC_STATUS_OK)
    die("prc_run_options", error);

  for (size_t round = 0; round <= runs; round++) {
    double started = now_ms();
    prc_process *process = build_process(shape, body);
    double built = now_ms();
    prc_report *report = NULL;
    if (prc_process_run(process, options, &report, &error) != PRC_STATUS_OK)
      die("prc_process_run", error);
    double ran = now_ms();
    checksum = check(report, shape->tasks);
    prc_report_free(report);
    prc_process_free(process);
    if (round > 0) {
      builds[round - 1] = built - started;
      times[round - 1] = ran - built;
    }
  }
  prc_run_options_free(options);

  char label[32];
  body_label(body, label, sizeof label);
  memcpy(sorted, times, runs * sizeof(double));
  double run_ms = median(sorted, runs);
  printf("{\"front_end\":\"c\",\"shape\":\"%s\",\"body\":\"%s\",\"workers\":%zu,"
         "\"size\":%zu,\"tasks\":%zu,\"edges\":%zu,\"graph_digest\":\"%016" PRIx64 "\","
         "\"runs\":%zu,\"build_ms\":%.3f,\"run_ms\":%.3f,\"ns_per_task\":%.3f,",
         shape->id, label, workers, size, shape->tasks, shape->edges, digest(shape), runs,
         round3(median(builds, runs)), round3(run_ms),
         round3(run_ms * 1e6 / (double)shape->tasks));
  print_list("run_ms_all", times, runs);
  if (body->kind == BODY_SPIN) {
    double ideal_ms = (double)shape->tasks * body->spin_us / (double)workers / 1e3;
    printf("\"efficiency\":%.3f,", round3(ideal_ms / run_ms));
  }
  printf("\"checksum\":%" PRId64 ",\"check\":\"ok\"}\n", checksum);
  fflush(stdout);
  free(builds);
  free(times);
  free(sorted);
}

/* ---- command line ----------------------------------------------------------------------- */

static const char *USAGE =
    "usage: scheduler_c [--shape S,..] [--body empty|pass|spin[:U],..] [--workers W,..] "
    "[--size N] [--runs N]";

static bool parse_body(const char *text, struct body *out) {
  if (strcmp(text, "empty") == 0) {
    *out = (struct body){BODY_EMPTY, 0};
  } else if (strcmp(text, "pass") == 0) {
    *out = (struct body){BODY_PASS, 0};
  } else if (strcmp(text, "spin") == 0) {
    *out = (struct body){BODY_SPIN, 10};
  } else if (strncmp(text, "spin:", 5) == 0) {
    char *end = NULL;
    unsigned long micros = strtoul(text + 5, &end, 10);
    if (end == text + 5 || *end != '\0') return false;
    *out = (struct body){BODY_SPIN, (unsigned)micros};
  } else {
    return false;
  }
  return true;
}

static size_t parse_positive(const char *flag, const char *text) {
  char *end = NULL;
  unsigned long long value = strtoull(text, &end, 10);
  if (end == text || *end != '\0' || value == 0) {
    fprintf(stderr, "scheduler_c: %s: `%s` is not a positive integer\n%s\n", flag, text, USAGE);
    exit(2);
  }
  return (size_t)value;
}

/* Splits a comma-separated list in place; returns how many items it found (at most max). */
static size_t split_list(char *text, char **items, size_t max) {
  size_t count = 0;
  for (char *item = strtok(text, ","); item && count < max; item = strtok(NULL, ","))
    items[count++] = item;
  return count;
}

int main(int argc, char **argv) {
  char shapes_text[128] = "independent,chain,fan,layered,tree";
  char bodies_text[128] = "empty,pass";
  char workers_text[128] = "1,2";
  size_t size = 0, runs = 5;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "scheduler_c: %s: missing value\n%s\n", flag, USAGE);
      return 2;
    }
    const char *value = argv[++i];
    if (strcmp(flag, "--shape") == 0)
      snprintf(shapes_text, sizeof shapes_text, "%s", value);
    else if (strcmp(flag, "--body") == 0)
      snprintf(bodies_text, sizeof bodies_text, "%s", value);
    else if (strcmp(flag, "--workers") == 0)
      snprintf(workers_text, sizeof workers_text, "%s", value);
    else if (strcmp(flag, "--size") == 0)
      size = parse_positive(flag, value);
    else if (strcmp(flag, "--runs") == 0)
      runs = parse_positive(flag, value);
    else {
      fprintf(stderr, "scheduler_c: unknown argument `%s`\n%s\n", flag, USAGE);
      return 2;
    }
  }

  char *shape_ids[8], *body_texts[8], *worker_texts[8];
  size_t shape_count = split_list(shapes_text, shape_ids, 8);
  size_t body_count = split_list(bodies_text, body_texts, 8);
  size_t worker_count = split_list(workers_text, worker_texts, 8);
  struct body bodies[8];
  size_t workers[8];
  for (size_t b = 0; b < body_count; b++) {
    if (!parse_body(body_texts[b], &bodies[b])) {
      fprintf(stderr, "scheduler_c: --body: unknown body `%s`\n%s\n", body_texts[b], USAGE);
      return 2;
    }
  }
  for (size_t w = 0; w < worker_count; w++) workers[w] = parse_positive("--workers", worker_texts[w]);
  for (size_t s = 0; s < shape_count; s++) {
    if (default_size(shape_ids[s]) == 0) {
      fprintf(stderr, "scheduler_c: --shape: unknown shape `%s`\n%s\n", shape_ids[s], USAGE);
      return 2;
    }
  }

  for (size_t s = 0; s < shape_count; s++) {
    size_t shape_size = size ? size : default_size(shape_ids[s]);
    struct shape shape = build_shape(shape_ids[s], shape_size);
    for (size_t b = 0; b < body_count; b++)
      for (size_t w = 0; w < worker_count; w++)
        measure(&shape, shape_size, &bodies[b], workers[w], runs);
    free(shape.dep_start);
    free(shape.deps);
  }
  return 0;
}
