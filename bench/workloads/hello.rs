// A Rust program of a few lines, for what a profiled rustc and its
// linker cost (bench/run --quick's rustc workload compiles it): rustup's toolchain
// has no build-ids, and its rust-lld leaves with _exit, so neither
// writes the router's memory (README, "Function tables").
//
//   rustc -O hello.rs -o hello && ./hello
fn main() {
    let words: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    println!("{}", words.join(" "));
}
