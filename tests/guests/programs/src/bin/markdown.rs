//! Renders a generated markdown document to HTML with pulldown-cmark.
//! argv[1]: number of sections (the document is rendered 4 times).
use programs::{fnv1a, size_arg, Rng, SEED, WORDS};
use pulldown_cmark::{html, Options, Parser};
use std::fmt::Write;

fn words(rng: &mut Rng, out: &mut String, n: u64) {
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        let w = rng.pick(WORDS);
        match rng.below(14) {
            0 => write!(out, "**{w}**").unwrap(),
            1 => write!(out, "*{w}*").unwrap(),
            2 => write!(out, "`{w}()`").unwrap(),
            3 => write!(out, "[{w}](https://example.org/{w}/{})", rng.below(100)).unwrap(),
            4 => write!(out, "{w} &amp; <{w}>").unwrap(),
            _ => out.push_str(w),
        }
    }
}

fn main() {
    let sections = size_arg(600);
    let mut rng = Rng::new(SEED);
    let mut doc = String::new();
    for s in 0..sections {
        write!(doc, "{} Section {s}: ", "#".repeat(1 + (s % 3))).unwrap();
        words(&mut rng, &mut doc, 4);
        doc.push_str("\n\n");
        for _ in 0..1 + rng.below(3) {
            let n = 20 + rng.below(60);
            words(&mut rng, &mut doc, n);
            doc.push_str("\n\n");
        }
        match rng.below(5) {
            0 => {
                for i in 0..2 + rng.below(5) {
                    write!(doc, "{}. ", i + 1).unwrap();
                    words(&mut rng, &mut doc, 6);
                    doc.push('\n');
                }
            }
            1 => {
                doc.push_str("```rust\n");
                for i in 0..3 + rng.below(6) {
                    writeln!(doc, "let x{i} = {}; // {}", rng.below(1000), rng.pick(WORDS)).unwrap();
                }
                doc.push_str("```\n");
            }
            2 => {
                doc.push_str("| name | value | note |\n|---|---:|:---:|\n");
                for _ in 0..2 + rng.below(6) {
                    writeln!(doc, "| {} | {} | {} |", rng.pick(WORDS), rng.below(10_000), rng.pick(WORDS)).unwrap();
                }
            }
            3 => {
                doc.push_str("> ");
                words(&mut rng, &mut doc, 15);
                doc.push_str("\n>\n> - ");
                words(&mut rng, &mut doc, 5);
                doc.push('\n');
            }
            _ => {
                for _ in 0..2 + rng.below(4) {
                    doc.push_str("- [ ] ");
                    words(&mut rng, &mut doc, 5);
                    doc.push_str("\n  - ");
                    words(&mut rng, &mut doc, 3);
                    doc.push('\n');
                }
            }
        }
        doc.push('\n');
    }
    let opts = Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH;
    let mut html_out = String::with_capacity(doc.len() * 3 / 2);
    for _ in 0..4 {
        html_out.clear();
        html::push_html(&mut html_out, Parser::new_ext(&doc, opts));
    }
    println!(
        "markdown: md={} html={} tags_p={} hash={:016x}",
        doc.len(),
        html_out.len(),
        html_out.matches("<p>").count(),
        fnv1a(html_out.as_bytes())
    );
}
