//! Parses and serializes a generated JSON document with serde_json.
//! argv[1]: number of top-level records.
use programs::{fnv1a, size_arg, Rng, SEED, WORDS};
use serde_json::{json, Value};

fn main() {
    let n = size_arg(5_000);
    let mut rng = Rng::new(SEED);
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let tags: Vec<&str> = (0..rng.below(5)).map(|_| rng.pick(WORDS)).collect();
            json!({
                "id": i,
                "name": format!("{} {}", rng.pick(WORDS), rng.pick(WORDS)),
                "score": rng.below(1_000_000) as f64 / 1000.0,
                "active": rng.below(2) == 0,
                "tags": tags,
                "nested": { "x": rng.below(100), "y": [rng.below(10), rng.below(10)], "note": "esc\"aped\n\u{e9}" },
            })
        })
        .collect();
    let text = serde_json::to_string(&Value::Array(items)).unwrap();

    // The measured part: parse the text, walk it, serialize it again (compact and pretty).
    let mut total_bytes = 0usize;
    let mut score_sum = 0.0f64;
    let mut active = 0usize;
    let mut out = String::new();
    for _ in 0..3 {
        let doc: Value = serde_json::from_str(&text).expect("parse failed");
        let arr = doc.as_array().unwrap();
        score_sum = arr.iter().map(|v| v["score"].as_f64().unwrap()).sum();
        active = arr.iter().filter(|v| v["active"] == true).count();
        out = serde_json::to_string(&doc).unwrap();
        total_bytes += out.len() + serde_json::to_string_pretty(&doc).unwrap().len();
    }
    assert_eq!(out, text, "round trip changed the document");
    println!(
        "json: records={n} bytes={} out_total={total_bytes} active={active} score_sum={score_sum:.3} hash={:016x}",
        text.len(),
        fnv1a(out.as_bytes())
    );
}
