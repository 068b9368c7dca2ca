//! Smoke test.
use processes::*;
#[test]
fn smoke() {
    let mut tasks = vec![];
    for i in 0..20 {
        let mut t = Task::new(&format!("t{i}"), move |ctx| {
            if i == 5 { return Err(TaskError::new("boom")); }
            Ok::<_, TaskError>(ctx.args().len() as i64)
        });
        if i > 0 { t = t.inject(&format!("t{}", i - 1)); }
        tasks.push(t);
    }
    let p = Process::new("p", tasks).unwrap();
    for par in [false, true] {
        let r = p.run(RunOptions::new().parallel(par)).unwrap();
        assert_eq!(r.counts(), Counts { success: 5, errored: 1, skipped: 14, cancelled: 0 });
        let e = r.entry("t5").unwrap();
        assert_eq!(e.error().unwrap().downstream().count(), 14);
    }
}
