//! Times the QR poster renderers on a county-sized batch: 300 grids, the posters a
//! township prints in one go. Target: under 5 s each for HTML and PDF.
//!
//! Run with `cargo bench -p mashang-routing --bench posters`. Prints figures only; the
//! time a shared CI machine takes is not asserted.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mashang_routing::qr_render::{self, Poster};

const GRIDS: usize = 300;
const TARGET: Duration = Duration::from_secs(5);

const TOWNSHIPS: [&str; 3] = ["新庄镇", "柳树湾乡", "石门镇"];
const VILLAGES: [&str; 10] = [
    "新庄村",
    "王家湾村",
    "李家沟村",
    "上河村",
    "下河村",
    "东关社区",
    "西坪村",
    "马莲滩村",
    "红崖村",
    "柏树塬村",
];

/// URL-safe base64 alphabet, as the directory's tokens use.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A 22-character token like the directory's (16 random bytes), from a fixed-seed
/// generator so every run renders the same posters.
fn token(state: &mut u64) -> String {
    (0..22)
        .map(|_| {
            *state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(ALPHABET[(*state >> 58) as usize])
        })
        .collect()
}

fn posters() -> Vec<Poster> {
    let mut state = 0x006d_6173_6861_6e67;
    (0..GRIDS)
        .map(|i| {
            let township = TOWNSHIPS[i % TOWNSHIPS.len()];
            Poster {
                township: township.to_owned(),
                path: vec![VILLAGES[(i / 3) % VILLAGES.len()].to_owned()],
                grid: format!("第{}网格", i / 30 + 1),
                url: format!("https://mashang.example.cn/q/{}", token(&mut state)),
                contact: (i % 4 != 0).then(|| format!("0938-66{:05}", i * 37)),
            }
        })
        .collect()
}

fn report(what: &str, elapsed: Duration, bytes: usize) {
    let verdict = if elapsed < TARGET { "within" } else { "OVER" };
    println!(
        "{what:<22} {:>9.1} ms  {:>8.1} µs/grid  {:>9} KiB  ({verdict} the {} s target)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / GRIDS as f64,
        bytes / 1024,
        TARGET.as_secs(),
    );
}

fn main() {
    let posters = posters();
    println!("QR posters for {GRIDS} grids");

    let start = Instant::now();
    let html = qr_render::posters_html(black_box(&posters)).expect("the bench's URLs are short");
    report("posters_html", start.elapsed(), html.len());

    let start = Instant::now();
    let pdf = qr_render::posters_pdf(black_box(&posters)).expect("the bench's URLs are short");
    report("posters_pdf", start.elapsed(), pdf.len());

    let start = Instant::now();
    let mut png_bytes = 0;
    for poster in &posters {
        png_bytes += qr_render::png(black_box(&poster.url))
            .expect("the bench's URLs are short")
            .len();
    }
    report(&format!("{GRIDS} × png"), start.elapsed(), png_bytes);

    let start = Instant::now();
    let mut svg_bytes = 0;
    for poster in &posters {
        svg_bytes += qr_render::svg(black_box(&poster.url))
            .expect("the bench's URLs are short")
            .len();
    }
    report(&format!("{GRIDS} × svg"), start.elapsed(), svg_bytes);
}
