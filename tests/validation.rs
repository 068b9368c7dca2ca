//! Validation before anything runs: every refused graph names the task(s), field and reason.

mod common;

use processes::{Dependency, GraphError, Process, Task};

use common::ok;

fn build(tasks: Vec<Task>) -> Result<Process, GraphError> {
    Process::new("checks", tasks)
}

#[test]
fn empty_name_is_refused_with_its_position() {
    let error = build(vec![ok("a", 1), ok("", 2)]).unwrap_err();
    assert_eq!(error, GraphError::EmptyName { position: 1 });
    assert!(error.to_string().contains("task #1: field `name` is empty"));
}

#[test]
fn whitespace_and_control_characters_are_refused() {
    let error = build(vec![ok("load data", 1)]).unwrap_err();
    assert!(matches!(
        error,
        GraphError::InvalidName {
            what: "whitespace",
            offset: 4,
            ..
        }
    ));
    assert!(error.to_string().contains("\"load data\""));
    let error = build(vec![ok("tab\u{7}", 1)]).unwrap_err();
    assert!(matches!(
        error,
        GraphError::InvalidName {
            what: "a control character",
            ..
        }
    ));
    let error = build(vec![ok("nbsp\u{a0}x", 1)]).unwrap_err();
    assert!(matches!(
        error,
        GraphError::InvalidName {
            what: "whitespace",
            ..
        }
    ));
}

#[test]
fn names_are_case_insensitive_and_lowercase() {
    let error = build(vec![ok("Extract", 1), ok("EXTRACT", 2)]).unwrap_err();
    assert_eq!(
        error,
        GraphError::DuplicateName {
            name: "extract".into(),
            existing: "extract".into()
        }
    );
    let process = build(vec![ok("Extract", 1), ok("Load", 2).after("EXTRACT")]).unwrap();
    assert_eq!(process.order().collect::<Vec<_>>(), ["extract", "load"]);
    assert!(process.task("LOAD").is_some());
}

#[test]
fn duplicate_and_self_dependencies_are_refused() {
    let error = build(vec![ok("a", 1), ok("b", 2).after("a").inject("A")]).unwrap_err();
    assert_eq!(
        error,
        GraphError::DuplicateDependency {
            task: "b".into(),
            dependency: "a".into()
        }
    );
    let error = build(vec![ok("a", 1).after("a")]).unwrap_err();
    assert_eq!(error, GraphError::SelfDependency { task: "a".into() });
}

#[test]
fn missing_dependency_names_both_tasks() {
    let error = build(vec![ok("load", 1).after("extract")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "task \"load\": field `dependencies` names \"extract\", which is not a task of this process"
    );
}

#[test]
fn named_injection_needs_a_name() {
    let error = build(vec![
        ok("a", 1),
        ok("b", 2).dependency(Dependency::named("a", "")),
    ])
    .unwrap_err();
    assert_eq!(
        error,
        GraphError::MissingInjectionName {
            task: "b".into(),
            dependency: "a".into()
        }
    );
}

#[test]
fn a_cycle_is_reported_in_order() {
    let tasks = vec![
        ok("start", 0),
        ok("a", 1).after("c").after("start"),
        ok("b", 2).after("a"),
        ok("c", 3).after("b"),
        ok("after", 4).after("c"),
    ];
    let error = build(tasks).unwrap_err();
    // a waits for c, c waits for b, b waits for a.
    assert_eq!(
        error,
        GraphError::Cycle {
            cycle: vec!["a".into(), "c".into(), "b".into(), "a".into()]
        }
    );
    assert!(error.to_string().ends_with("a -> c -> b -> a"));
}

#[test]
fn order_is_topological_with_ties_in_insertion_order() {
    let tasks = vec![
        ok("report", 0).after("load").after("audit"),
        ok("load", 0).after("transform"),
        ok("extract", 0),
        ok("audit", 0),
        ok("transform", 0).after("extract"),
    ];
    let process = build(tasks).unwrap();
    assert_eq!(
        process.order().collect::<Vec<_>>(),
        ["extract", "audit", "transform", "load", "report"]
    );
}

#[test]
fn invalid_options_name_the_field() {
    let error = build(vec![ok("a", 1).timeout(std::time::Duration::ZERO)]).unwrap_err();
    assert!(error
        .to_string()
        .contains("task \"a\": field `timeout` must be greater than zero"));
}

#[test]
fn adding_a_task_validates_and_rolls_back() {
    let mut process = build(vec![ok("a", 1)]).unwrap();
    let error = process.add_task(ok("b", 2).after("missing")).unwrap_err();
    assert!(matches!(error, GraphError::MissingDependency { .. }));
    assert_eq!(process.len(), 1);
    let error = process.add_task(ok("A", 2)).unwrap_err();
    assert!(matches!(error, GraphError::DuplicateName { .. }));
    process.add_task(ok("b", 2).inject("a")).unwrap();
    assert_eq!(process.order().collect::<Vec<_>>(), ["a", "b"]);
    // A task added after a failed attempt still finds its name free.
    process.add_task(ok("missing", 3)).unwrap();
    assert_eq!(process.len(), 3);
}

#[test]
fn adding_a_dependency_that_closes_a_cycle_rolls_back() {
    let mut process = build(vec![
        ok("a", 1),
        ok("b", 2).after("a"),
        ok("c", 3).after("b"),
    ])
    .unwrap();
    let error = process
        .add_dependency("a", Dependency::on("c"))
        .unwrap_err();
    assert_eq!(
        error,
        GraphError::Cycle {
            cycle: vec!["a".into(), "c".into(), "b".into(), "a".into()]
        }
    );
    assert!(process.task("a").unwrap().dependencies().is_empty());
    assert_eq!(process.order().collect::<Vec<_>>(), ["a", "b", "c"]);
    process.add_dependency("C", Dependency::on("A")).unwrap();
    assert_eq!(process.task("c").unwrap().dependencies().len(), 2);
}

#[test]
fn removing_a_task_others_depend_on_is_refused() {
    let mut process = build(vec![
        ok("a", 1),
        ok("b", 2).after("a"),
        ok("c", 3).after("a"),
    ])
    .unwrap();
    let error = process.remove_task("A").unwrap_err();
    assert_eq!(
        error,
        GraphError::HasDependents {
            task: "a".into(),
            dependents: vec!["b".into(), "c".into()]
        }
    );
    assert_eq!(
        error.to_string(),
        "task \"a\": cannot be removed while b, c depend(s) on it"
    );
    let removed = process.remove_task("c").unwrap();
    assert_eq!(removed.name(), "c");
    assert_eq!(process.order().collect::<Vec<_>>(), ["a", "b"]);
    assert!(matches!(
        process.remove_task("zzz"),
        Err(GraphError::UnknownTask { .. })
    ));
}

#[test]
fn a_report_keeps_the_graph_it_ran() {
    let mut process = build(vec![ok("a", 1)]).unwrap();
    let report = process.run(Default::default()).unwrap();
    process.add_task(ok("b", 2)).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(process.run(Default::default()).unwrap().len(), 2);
}
