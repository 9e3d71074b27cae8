// A Rust program's allocations, for side-by-side runs (bench/run's
// rustc workload compiles it, and does not run it): a HashMap of format!-made Strings to Vecs grown by push, keys
// upper-cased, collected and sorted, boxed arrays collected - what the
// standard library allocates for a program, several of its functions
// deep (format! grows its String inside core::fmt).
//
//   rustc -O -g -o DIR/churn bench/workloads/churn.rs
//   bench/alternate --rounds 9 JEMALLOC LIB -- DIR/churn [KEYS]
use std::collections::HashMap;
fn main() {
    let scale: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(200000);
    let mut total = 0usize;
    for round in 0..5 {
        let mut map: HashMap<String, Vec<u64>> = HashMap::new();
        for i in 0..scale {
            let key = format!("key-{}-{}", round, i);
            let mut v = Vec::new();
            for j in 0..(i % 7) { v.push((i * j) as u64); }
            map.insert(key, v);
        }
        let mut words: Vec<String> = map.keys().filter(|k| k.len() % 2 == 0).map(|k| k.to_uppercase()).collect();
        words.sort();
        total += words.len() + map.values().map(|v| v.len()).sum::<usize>();
        let boxed: Vec<Box<[u8; 48]>> = (0..scale / 4).map(|i| Box::new([i as u8; 48])).collect();
        total += boxed.len();
    }
    println!("{}", total);
}
