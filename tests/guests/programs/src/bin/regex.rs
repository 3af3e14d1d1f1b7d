//! Runs several regexes (alternations, classes, captures) over generated text.
//! argv[1]: text size in KiB.
use programs::{size_arg, text, Rng, SEED};
use regex::Regex;

fn main() {
    let kib = size_arg(1536);
    let mut rng = Rng::new(SEED);
    let hay = text(&mut rng, kib * 1024);

    let alternation = Regex::new(r"\b(?:error|warning|trap|fuel)\b").unwrap();
    let email = Regex::new(r"([a-z]+)@([a-z]+)\.org").unwrap();
    let date = Regex::new(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})").unwrap();
    let number = Regex::new(r"\b[0-9]{5,}\b").unwrap();
    let pair = Regex::new(r"(?i)\b(\w+) (?:QUICK|lazy) (\w+)\b").unwrap();

    let alt = alternation.find_iter(&hay).count();
    let mut emails = 0usize;
    let mut user_len = 0usize;
    for c in email.captures_iter(&hay) {
        emails += 1;
        user_len += c[1].len() + c[2].len();
    }
    let mut dates = 0usize;
    let mut month_sum = 0u64;
    for c in date.captures_iter(&hay) {
        dates += 1;
        month_sum += c["m"].parse::<u64>().unwrap() + c["d"].parse::<u64>().unwrap();
    }
    let numbers = number.find_iter(&hay).count();
    let mut pairs = 0usize;
    let mut pair_len = 0usize;
    for c in pair.captures_iter(&hay) {
        pairs += 1;
        pair_len += c.get(2).unwrap().end() - c.get(1).unwrap().start();
    }
    let replaced = alternation.replace_all(&hay, "<$0>");
    println!(
        "regex: bytes={} alt={alt} emails={emails}/{user_len} dates={dates}/{month_sum} numbers={numbers} pairs={pairs}/{pair_len} replaced_len={}",
        hay.len(),
        replaced.len()
    );
}
