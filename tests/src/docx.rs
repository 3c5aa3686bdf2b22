//! Word documents read back with python-docx, an implementation independent of the one
//! that wrote them (`tests/tools/read_docx.py`; the Python is `MASHANG_TEST_PYTHON`,
//! which `infra/test-services up` writes into its env file).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What a reader of the document sees: `paragraphs` (`style`, `text`,
/// `highlighted`), `tables` (rows of cell texts), `pictures` (`content_type`,
/// `bytes`, `width_emu`, `height_emu`) and `page` (`width_mm`, `height_mm`).
pub fn read_docx(bytes: &[u8]) -> Value {
    let python = std::env::var("MASHANG_TEST_PYTHON").expect(
        "MASHANG_TEST_PYTHON names a Python with python-docx: run `infra/test-services up` \
         and source target/test-env/env",
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("report.docx");
    std::fs::write(&file, bytes).expect("writing the document");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/read_docx.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&file)
        .output()
        .expect("running python-docx");
    assert!(
        out.status.success(),
        "python-docx could not read the document: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader prints JSON")
}

/// The texts of the paragraphs with the style named `style` (python-docx's names:
/// `Title`, `Heading 1`, …).
pub fn styled(doc: &Value, style: &str) -> Vec<String> {
    doc["paragraphs"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["style"] == style)
                .filter_map(|p| p["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The rows of the first table whose header row is `header`.
pub fn table(doc: &Value, header: &[&str]) -> Vec<Vec<String>> {
    let tables = doc["tables"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = tables
        .iter()
        .map(|t| serde_json::from_value::<Vec<Vec<String>>>(t.clone()).unwrap_or_default())
        .find(|t| t.first().is_some_and(|h| h == header))
        .unwrap_or_else(|| panic!("no table headed {header:?} in {doc}"));
    rows.into_iter().skip(1).collect()
}
