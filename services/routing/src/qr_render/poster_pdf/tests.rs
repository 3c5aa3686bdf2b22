//! Reads the PDF back the way a strict reader does (cross-reference table, page tree,
//! content streams) and scans each page's code with an independent decoder.

use super::super::pdf_text::hex_utf16be;
use super::super::qr_decode::decode_modules;
use super::*;

fn poster(grid: &str, token: &str, contact: Option<&str>) -> Poster {
    Poster {
        township: "新庄镇".to_owned(),
        path: vec!["新庄村".to_owned()],
        grid: grid.to_owned(),
        url: format!("https://mashang.example.cn/q/{token}"),
        contact: contact.map(str::to_owned),
    }
}

fn sample() -> Vec<Poster> {
    vec![
        poster("第一网格", "q3Zr-8YtVb_1xKp0Lm2NwA", Some("0938-6612345")),
        poster("第二网格", "Hc7uQ2mZp9_sWd4-RtYe0g", None),
        poster("柳树湾社", "b8Kx0Jq-Vn3LwT5y_PzR1Q", Some("0938-6612345")),
    ]
}

/// A parsed PDF: its text and where each object starts, by object number - 1.
struct Pdf {
    text: String,
    offsets: Vec<usize>,
}

impl Pdf {
    /// Checks the frame (header, trailer, xref) and reads the cross-reference table.
    fn parse(bytes: Vec<u8>) -> Self {
        let text = String::from_utf8(bytes).expect("ASCII apart from the UTF-8 marker");
        assert!(text.starts_with("%PDF-1."));
        assert!(text.ends_with("%%EOF\n"));
        let xref: usize = text
            .rsplit_once("startxref\n")
            .and_then(|(_, rest)| rest.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref and an offset");
        let table = &text[xref..];
        let count: usize = table
            .strip_prefix("xref\n0 ")
            .and_then(|rest| rest.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("an xref section from object 0");
        let entries = &table[table.find('\n').expect("xref line") + 1..];
        let entries = &entries[entries.find('\n').expect("subsection line") + 1..];
        assert_eq!(&entries[..20], "0000000000 65535 f \n");
        let offsets: Vec<usize> = (1..count)
            .map(|i| {
                let entry = &entries[i * 20..(i + 1) * 20];
                assert!(entry.ends_with(" 00000 n \n"), "{entry:?}");
                entry[..10].parse().expect("a 10-digit offset")
            })
            .collect();
        let trailer = &entries[count * 20..];
        assert!(trailer.starts_with(&format!("trailer\n<< /Size {count} /Root ")));
        Self { text, offsets }
    }

    /// The body of object `id`, between `id 0 obj` and `endobj`.
    fn object(&self, id: usize) -> &str {
        let rest = &self.text[self.offsets[id - 1]..];
        let header = format!("{id} 0 obj\n");
        assert!(
            rest.starts_with(&header),
            "object {id} is not at its offset"
        );
        let body = &rest[header.len()..];
        &body[..body.find("\nendobj").expect("endobj")]
    }

    /// The object numbers referred to in `dict` after `key`, e.g. `/Kids [7 0 R 9 0 R]`.
    fn refs(dict: &str, key: &str) -> Vec<usize> {
        let after = &dict[dict.find(key).expect("the key") + key.len()..];
        let words: Vec<&str> = after
            .trim_start_matches([' ', '['])
            .split([' ', ']'])
            .take_while(|w| !w.starts_with('/') && !w.starts_with('>'))
            .collect();
        words
            .chunks(3)
            .filter(|c| c.len() == 3 && c[1] == "0" && c[2] == "R")
            .map(|c| c[0].parse().expect("an object number"))
            .collect()
    }

    /// The pages' content streams, in page order.
    fn page_contents(&self) -> Vec<&str> {
        let root = Self::refs(
            &self.text[self.text.rfind("trailer").expect("trailer")..],
            "/Root",
        )[0];
        let catalog = self.object(root);
        assert!(catalog.contains("/Type /Catalog"));
        let pages = self.object(Self::refs(catalog, "/Pages")[0]);
        let kids = Self::refs(pages, "/Kids");
        assert!(pages.contains(&format!("/Count {}", kids.len())));
        kids.into_iter()
            .map(|kid| {
                let page = self.object(kid);
                assert!(page.contains("/Type /Page "));
                assert!(page.contains("/MediaBox [0 0 595.28 841.89]"));
                let stream = self.object(Self::refs(page, "/Contents")[0]);
                let len: usize = Self::stream_length(stream);
                let data = &stream[stream.find("stream\n").expect("stream") + 7..];
                assert!(data[len..].starts_with("\nendstream"), "/Length is exact");
                &data[..len]
            })
            .collect()
    }

    fn stream_length(stream: &str) -> usize {
        stream
            .strip_prefix("<< /Length ")
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(n, _)| n.parse().ok())
            .expect("a direct /Length")
    }
}

/// Rebuilds the module matrix from a page's `x y len 1 re` rectangles (module units,
/// y up) and decodes it.
fn decode_page_symbol(content: &str) -> String {
    let rects: Vec<[usize; 3]> = content
        .lines()
        .filter_map(|line| line.strip_suffix(" 1 re"))
        .map(|r| {
            let v: Vec<usize> = r.split(' ').map(|n| n.parse().expect("integers")).collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    // Finder patterns fill the first and last columns and rows, so the extent is the size.
    let width = rects
        .iter()
        .map(|[x, _, len]| x + len)
        .max()
        .expect("rectangles");
    assert_eq!(rects.iter().map(|[_, y, _]| y + 1).max(), Some(width));
    let mut dark = vec![false; width * width];
    for [x, y, len] in rects {
        let row = width - 1 - y;
        dark[row * width + x..row * width + x + len].fill(true);
    }
    decode_modules(width, |x, y| dark[y * width + x])
}

#[test]
fn strict_structure_one_page_per_poster() {
    let pdf = Pdf::parse(posters_pdf(&sample()).expect("short URLs"));
    for id in 1..=pdf.offsets.len() {
        pdf.object(id);
    }
    assert_eq!(pdf.page_contents().len(), 3);
    assert!(
        pdf.text
            .contains("/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >>")
    );
    assert!(
        pdf.text
            .contains("/BaseFont /STSong-Light /Encoding /UniGB-UCS2-H")
    );
}

#[test]
fn names_are_utf16be_hex_in_each_page() {
    let posters = sample();
    let pdf = Pdf::parse(posters_pdf(&posters).expect("short URLs"));
    for (poster, content) in posters.iter().zip(pdf.page_contents()) {
        for name in [&poster.township, &poster.path[0], &poster.grid] {
            assert!(content.contains(&hex_utf16be(name)), "{name}");
        }
        assert!(content.contains(&format!("<{}>", hex_utf16be(TITLE))));
        let contact = hex_utf16be("联系电话：");
        assert_eq!(content.contains(&contact), poster.contact.is_some());
    }
}

#[test]
fn each_page_symbol_decodes_to_its_url() {
    let posters = sample();
    let pdf = Pdf::parse(posters_pdf(&posters).expect("short URLs"));
    let decoded: Vec<String> = pdf
        .page_contents()
        .into_iter()
        .map(decode_page_symbol)
        .collect();
    let urls: Vec<&String> = posters.iter().map(|p| &p.url).collect();
    assert_eq!(decoded.iter().collect::<Vec<_>>(), urls);
}

#[test]
fn the_symbol_is_120_mm_wide() {
    let posters = sample();
    let matrix = Matrix::encode(&posters[0].url).expect("a short URL");
    let pdf = Pdf::parse(posters_pdf(&posters[..1]).expect("a short URL"));
    let content = pdf.page_contents()[0];
    let scale: f64 = content
        .lines()
        .find(|line| line.starts_with("q 0 g "))
        .and_then(|line| line.split(' ').nth(3))
        .and_then(|n| n.parse().ok())
        .expect("the symbol's scaling");
    let mm = scale * matrix.width() as f64 / PT_PER_MM;
    assert!((mm - 120.0).abs() < 0.01, "{mm} mm");
}

#[test]
fn long_names_shrink_to_the_page_width() {
    let mut long = poster(&"很长的网格名称".repeat(10), "q3Zr-8YtVb_1xKp0Lm2NwA", None);
    long.path = vec![];
    let pdf = Pdf::parse(posters_pdf(&[long]).expect("a short URL"));
    let line = pdf.page_contents()[0]
        .lines()
        .find(|l| l.contains(&hex_utf16be("很长的网格名称")))
        .expect("the grid line");
    let size: f64 = line
        .split(" Tf")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a font size");
    assert!(size * 70.0 <= TEXT_WIDTH + 0.5, "{size} pt");
}

#[test]
fn same_posters_same_bytes_and_empty_input_has_no_pages() {
    assert_eq!(posters_pdf(&sample()).ok(), posters_pdf(&sample()).ok());
    let empty = Pdf::parse(posters_pdf(&[]).expect("nothing to encode"));
    assert!(empty.page_contents().is_empty());
}
