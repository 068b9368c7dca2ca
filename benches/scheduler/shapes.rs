//! The graph shapes of `shared/bench/WORKLOADS.md`, as plain dependency lists that both the
//! core (through `Task`s) and the floor executor are built from.

/// Layers of the default `layered` graph.
pub const LAYERS: usize = 100;
/// Parents of each task of a `layered` graph below its first layer.
pub const PARENTS: usize = 4;
/// Seed of the `layered` generator.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Every shape id, in the order the default matrix runs them.
pub const ALL: [&str; 5] = ["independent", "chain", "fan", "layered", "tree"];

/// A graph: task `i` is named `t<i>` and depends on `deps_of(i)`, in declaration order.
pub struct Shape {
    /// The shape id (`independent`, `chain`, ...).
    pub id: &'static str,
    /// How many tasks.
    pub tasks: usize,
    /// `deps[dep_start[i]..dep_start[i + 1]]` are task `i`'s dependencies.
    dep_start: Vec<u32>,
    deps: Vec<u32>,
}

impl Shape {
    /// The shape `id` at its default size.
    pub fn default_size(id: &str) -> Option<usize> {
        match id {
            "independent" => Some(1_000_000),
            "chain" | "fan" => Some(100_000),
            "layered" => Some(1_000 * LAYERS),
            "tree" => Some((1 << 17) - 1),
            _ => None,
        }
    }

    /// Builds the shape `id` for about `size` tasks: `size` for `independent` and `chain`,
    /// `size` middles plus a root and a sink for `fan`, `LAYERS` layers of `size / LAYERS`
    /// tasks (at least `PARENTS`) for `layered`, and the complete binary tree whose task
    /// count is nearest `size` for `tree`.
    pub fn build(id: &str, size: usize) -> Result<Shape, String> {
        match id {
            "independent" => Ok(Shape::from_lists("independent", size, |_, _| {})),
            "chain" => Ok(Shape::from_lists("chain", size, |i, deps| {
                if i > 0 {
                    deps.push(i as u32 - 1);
                }
            })),
            "fan" => Ok(fan(size)),
            "layered" => Ok(layered((size / LAYERS).max(PARENTS), LAYERS, PARENTS)),
            "tree" => {
                let depth = ((size as f64 + 1.0).log2().round() as u32).clamp(1, 30);
                Ok(tree(depth))
            }
            other => Err(format!(
                "--shape: unknown shape `{other}` (expected one of {})",
                ALL.join(", ")
            )),
        }
    }

    fn from_lists(
        id: &'static str,
        tasks: usize,
        mut fill: impl FnMut(usize, &mut Vec<u32>),
    ) -> Shape {
        let mut dep_start = Vec::with_capacity(tasks + 1);
        let mut deps = Vec::new();
        dep_start.push(0);
        for i in 0..tasks {
            fill(i, &mut deps);
            dep_start.push(deps.len() as u32);
        }
        Shape {
            id,
            tasks,
            dep_start,
            deps,
        }
    }

    /// The dependencies of task `i`, in declaration order.
    pub fn deps_of(&self, i: usize) -> &[u32] {
        &self.deps[self.dep_start[i] as usize..self.dep_start[i + 1] as usize]
    }

    /// How many edges.
    pub fn edges(&self) -> usize {
        self.deps.len()
    }

    /// FNV-1a over every (task, dependency) pair in declaration order, so that another front
    /// end can check it built the identical graph.
    pub fn digest(&self) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325_u64;
        let mut eat = |word: u32| {
            for byte in word.to_le_bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(self.tasks as u32);
        for i in 0..self.tasks {
            for &dep in self.deps_of(i) {
                eat(i as u32);
                eat(dep);
            }
        }
        hash
    }
}

/// Task 0 is the root, tasks `1..=middles` depend on it, and the last task depends on every
/// middle.
fn fan(middles: usize) -> Shape {
    let sink = middles + 1;
    Shape::from_lists("fan", middles + 2, |i, deps| {
        if i == sink {
            deps.extend(1..=middles as u32);
        } else if i > 0 {
            deps.push(0);
        }
    })
}

/// A complete binary in-tree numbered like a heap: task `i` depends on `2i + 1` and `2i + 2`.
fn tree(depth: u32) -> Shape {
    let tasks = (1usize << depth) - 1;
    Shape::from_lists("tree", tasks, |i, deps| {
        let left = 2 * i + 1;
        if left + 1 < tasks {
            deps.push(left as u32);
            deps.push(left as u32 + 1);
        }
    })
}

/// The 64-bit xorshift of WORKLOADS.md: each draw first advances the state, then yields it.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        self.0 = s;
        s
    }
}

/// `layers` layers of `width` tasks, `id = d * width + i`; each task below the first layer
/// depends on `parents` distinct tasks of the layer above, declared in the order drawn.
fn layered(width: usize, layers: usize, parents: usize) -> Shape {
    let mut rng = XorShift(SEED);
    let mut drawn = Vec::with_capacity(parents);
    Shape::from_lists("layered", width * layers, |id, deps| {
        let layer = id / width;
        if layer == 0 {
            return;
        }
        drawn.clear();
        while drawn.len() < parents {
            let draw = (rng.next() % width as u64) as usize;
            if !drawn.contains(&draw) {
                drawn.push(draw);
            }
        }
        deps.extend(drawn.iter().map(|&d| ((layer - 1) * width + d) as u32));
    })
}
