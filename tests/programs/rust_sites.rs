// A Rust program's allocations at known lines (tests/integration/rust_sites.sh).
//
// The standard library allocates for the code that uses it: Box::new,
// Vec, String, format! and collect each reach malloc through a chain of
// its functions (alloc::alloc::alloc, RawVec, __rust_alloc, __rdl_alloc),
// inlined into the caller or not.  The report must charge the line
// below that used it, never a line of the library, in the main thread
// and in another.  Every block is kept to the end, its address
// published so that the optimizer cannot drop the allocation, and
// leaked, so that it is live at exit.  Sizes the library decides (a
// grown Vec's capacity, format!'s) are printed as NAME VALUE lines for
// the markers' @NAME, by a write that allocates nothing (the first
// println! allocates stdout's buffer).
use std::fmt;
use std::fs::File;
use std::io::{Cursor, Write};
use std::mem::forget;
use std::os::unix::io::FromRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

static KEPT: AtomicUsize = AtomicUsize::new(0);

fn keep(address: *const u8) {
    KEPT.fetch_xor(address as usize, Ordering::Relaxed);
}

struct Label(u8);

// The program's own impl of a standard trait is the program's code: its
// allocations are charged here, not to the to_string() that called it.
impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let scratch = vec![self.0; 24]; /* EXPECT: 24 1 */
        keep(scratch.as_ptr());
        forget(scratch);
        write!(f, "label-{}", self.0) /* EXPECT: @label_bytes 1 */
    }
}

#[inline(never)]
fn boxed(fill: u8) -> Box<[u8; 100]> {
    Box::new([fill; 100]) /* EXPECT: 100 1 func:rust_sites::boxed */
}

#[inline(never)]
fn reserved(n: usize) -> Vec<u64> {
    Vec::with_capacity(n) /* EXPECT: 400 1 func:rust_sites::reserved */
}

// Not inlined: an optimized build gives an inlined closure's calls the
// line of the iterator that ran it.
#[inline(never)]
fn digit_text(digit: u32) -> String {
    digit.to_string() /* EXPECT: @digit_bytes 10 func:rust_sites::digit_text */
}

fn main() {
    // 1, but not known to the compiler; args() makes, and drops, a Vec.
    let one = std::env::args().len(); /* EXPECT: 0 0 */

    let block = boxed(one as u8);
    keep(block.as_ptr());
    forget(block);
    let vector = reserved(49 + one);
    keep(vector.as_ptr() as *const u8);
    forget(vector);

    let owned = String::from("seventeen bytes!!"); /* EXPECT: 17 1 */
    keep(owned.as_ptr());
    forget(owned);

    let mut grown: Vec<u64> = Vec::new();
    for i in 0..(99 + one as u64) {
        grown.push(i); /* EXPECT: @grow_bytes 1 */
    }
    let grow_bytes = grown.capacity() * 8;
    keep(grown.as_ptr() as *const u8);
    forget(grown);

    let text = format!("{}-{}", 12344 + one, "abcdef"); /* EXPECT: @format_bytes 1 */
    let format_bytes = text.capacity();
    keep(text.as_ptr());
    forget(text);

    let digits = (0..10 * one as u32).map(digit_text);
    let words: Vec<String> = digits.collect(); /* EXPECT: 240 1 */
    let digit_bytes: usize = words.iter().map(|w| w.capacity()).sum();
    keep(words.as_ptr() as *const u8);
    forget(words);

    let label = Label(8 + one as u8).to_string();
    let label_bytes = label.capacity();
    keep(label.as_ptr());
    forget(label);

    // A thread's closure runs inside the library's
    // __rust_begin_short_backtrace, inlined there when optimized: its
    // blocks are charged to its own lines.  spawn's own blocks (the
    // thread's handle and result) are freed by join.
    let worker = std::thread::spawn(move || { /* EXPECT: 0 0 */
        let buffer: Vec<u32> = Vec::with_capacity(29 + one); /* EXPECT: 120 1 */
        keep(buffer.as_ptr() as *const u8);
        forget(buffer);
    });
    worker.join().unwrap();

    let mut buf = [0u8; 256];
    let mut out = Cursor::new(&mut buf[..]);
    writeln!(out, "grow_bytes {}", grow_bytes).unwrap();
    writeln!(out, "format_bytes {}", format_bytes).unwrap();
    writeln!(out, "digit_bytes {}", digit_bytes).unwrap();
    writeln!(out, "label_bytes {}", label_bytes).unwrap();
    writeln!(out, "kept {}", KEPT.load(Ordering::Relaxed) != 0).unwrap();
    let length = out.position() as usize;
    // SAFETY: fd 1 is open for the whole run, and is not closed here.
    let mut stdout = unsafe { File::from_raw_fd(1) };
    stdout.write_all(&buf[..length]).unwrap();
    forget(stdout);
}
