//! Reliability matrices (`cargo bench -p msync-core --bench reliability`; `cargo xtask bench`
//! runs it and writes the section into BENCHMARKS.md).
//!
//! For each site the fake plays (New API, Octopus), each operation (sync, plan apply, redirect
//! apply, revert, ratio apply) and each fault (the process killed, the store full, the system
//! clock set back or forward), the fault strikes at every await point of the operation in turn —
//! every store write, every request to the site before it is sent and after it was answered —
//! and [`msync_core::crash::matrix_on`] checks the recovery against an uninterrupted run.
//! Virtual time: the counts are exact and machine-independent.

use msync_core::crash::{matrix_on, Fault, Flavour, Op, Size};
use std::time::Instant;

fn main() {
    let size = Size::LARGE;
    let started = Instant::now();
    println!("### Reliability: every await point, every fault\n");
    println!(
        "{} channels (most gain and lose a model, one in four is up to date, one in three has a \
         first write answered 503 and retried), {} at once; ratio apply: five choices over three \
         option keys. Killed: nothing runs after the point, then a fresh engine on the same store \
         resumes (or runs the command again when no run was stored yet). Store full: this store \
         write and every later one is refused, then the store is freed and the next run \
         finishes the work. Clock: the system clock is set back 1 h or forward 1 day at the \
         point and the run goes on. Some channels have routes (Octopus group items) on models a \
         sync removes or keeps; a revert creates the deleted ones again. Plan apply: a dry run's \
         plan applied as confirmed. New API: the fake's own capabilities; Octopus: its \
         capabilities (no mapping, so no redirect) with the routed models listed, so a plain \
         sync holds the removals that would delete a route and the reverted run is a plan apply. A point \
         survives when no channel was written twice with different content, every write found \
         its snapshot stored with the routes it deletes, the site (routes included) ends as \
         after an uninterrupted run, the snapshots hold the same routes, and the history holds \
         one finished run with the same item statuses (and, for a full store, the run stopped \
         with a `storage` error).\n",
        size.channels, size.concurrency
    );
    println!("| site | operation | fault | points | survived | repeated same-content writes |");
    println!("|---|---|---|---:|---:|---:|");
    let mut all_ok = true;
    let mut failures = Vec::new();
    let (mut points, mut survived) = (0, 0);
    for (flavour, op) in [Flavour::NewApi, Flavour::Octopus]
        .into_iter()
        .flat_map(|f| Op::ALL.into_iter().map(move |op| (f, op)))
        .filter(|(f, op)| f.runs(*op))
    {
        for fault in Fault::ALL {
            let r = matrix_on(flavour, op, fault, size);
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                flavour.name(),
                op.name(),
                fault.name(),
                r.points,
                r.survived,
                r.repeated_writes
            );
            points += r.points;
            survived += r.survived;
            all_ok &= r.points > 0 && r.survived == r.points;
            for f in r.failures.iter().take(5) {
                failures.push(format!(
                    "{} / {} / {}: {f}",
                    flavour.name(),
                    op.name(),
                    fault.name()
                ));
            }
        }
    }
    println!();
    if !failures.is_empty() {
        println!("Points that did not survive (first five per matrix):\n");
        for f in &failures {
            println!("* {f}");
        }
        println!();
    }
    println!(
        "{points} points in {:.1} s of wall time.",
        started.elapsed().as_secs_f64()
    );
    println!(
        "@target|Crash, full-storage and clock-jump matrices|{survived} of {points} points survived|all|{}",
        if all_ok { "PASS" } else { "MISS" }
    );
}
