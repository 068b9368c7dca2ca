//! The scheduler benchmark (see the bench branch).

fn main() {}
