//! Sorts generated records (string + integers) with sort and sort_unstable, then builds a BTreeMap.
//! argv[1]: number of records.
use programs::{size_arg, Rng, SEED, WORDS};
use std::collections::BTreeMap;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    name: String,
    score: u32,
    id: u64,
}

fn main() {
    let n = size_arg(40_000);
    let mut rng = Rng::new(SEED);
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            name: format!("{}-{}-{}", rng.pick(WORDS), rng.pick(WORDS), rng.below(1000)),
            score: rng.below(100_000) as u32,
            id: i as u64,
        })
        .collect();

    let mut by_name = records.clone();
    by_name.sort(); // stable, by (name, score, id)
    let mut by_score = records.clone();
    by_score.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.id.cmp(&b.id)));
    let mut ints: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    ints.sort_unstable();

    let mut map: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in &records {
        let e = map.entry(r.name.as_str()).or_insert((0, 0));
        e.0 += 1;
        e.1 += r.score as u64;
    }
    let sorted_ok = by_name.windows(2).all(|w| w[0] <= w[1])
        && by_score.windows(2).all(|w| w[0].score >= w[1].score)
        && ints.windows(2).all(|w| w[0] <= w[1]);
    let (top_key, top) = map.iter().max_by_key(|(_, v)| (v.0, v.1)).unwrap();
    println!(
        "sort: n={n} first={} last={} best_id={} median_int={:016x} keys={} top={top_key}x{} sorted={sorted_ok}",
        by_name[0].name,
        by_name[n - 1].name,
        by_score[0].id,
        ints[n / 2],
        map.len(),
        top.0
    );
}
