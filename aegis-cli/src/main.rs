//! The `aegis` command (work in progress, see issue 4).

fn main() {
    eprintln!("aegis: the command line is not built yet");
    std::process::exit(2);
}
