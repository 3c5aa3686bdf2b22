//! HEIF/HEIC: metadata lives in items of the `meta` box; the Exif and XMP (`mime`)
//! items' bytes are overwritten with zeros in place, which keeps every offset valid.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The most item extents read from an `iloc` box; a photo has a few dozen.
const MAX_EXTENTS: usize = 65_536;

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("HEIF: {what}"))
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| invalid("short box"))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn uint(&mut self, bytes: usize) -> io::Result<u64> {
        Ok(self
            .take(bytes)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

/// Iterates the boxes in `data`: (type, body).
fn boxes(data: &[u8]) -> io::Result<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    let mut c = Cursor { data, at: 0 };
    while c.at + 8 <= data.len() {
        let start = c.at;
        let size = c.uint(4)?;
        let kind: [u8; 4] = c.take(4)?.try_into().map_err(|_| invalid("box type"))?;
        let size = match size {
            1 => c.uint(8)?,
            0 => (data.len() - start) as u64,
            s => s,
        };
        let header = c.at - start;
        let body_len = usize::try_from(size)
            .map_err(|_| invalid("box size"))?
            .checked_sub(header)
            .ok_or_else(|| invalid("box size"))?;
        out.push((kind, c.take(body_len)?));
    }
    Ok(out)
}

/// The ids of the items whose type is Exif, or MIME (XMP).
fn metadata_items(iinf: &[u8]) -> io::Result<Vec<u32>> {
    let mut c = Cursor { data: iinf, at: 0 };
    let version = c.uint(1)?;
    c.take(3)?;
    let _count = if version == 0 { c.uint(2)? } else { c.uint(4)? };
    let mut ids = Vec::new();
    for (kind, body) in boxes(&iinf[c.at..])? {
        if &kind != b"infe" {
            continue;
        }
        let mut e = Cursor { data: body, at: 0 };
        let v = e.uint(1)?;
        e.take(3)?;
        if v < 2 {
            continue;
        }
        let id = if v == 2 { e.uint(2)? } else { e.uint(4)? };
        e.take(2)?; // protection index
        let item_type = e.take(4)?;
        if item_type == b"Exif" || item_type == b"mime" {
            ids.push(u32::try_from(id).map_err(|_| invalid("item id"))?);
        }
    }
    Ok(ids)
}

/// The file extents (offset, length) of `items`, from the `iloc` box.
fn extents(iloc: &[u8], items: &[u32]) -> io::Result<Vec<(u64, u64)>> {
    let mut c = Cursor { data: iloc, at: 0 };
    let version = c.uint(1)?;
    c.take(3)?;
    let sizes = c.uint(1)?;
    let (offset_size, length_size) = ((sizes >> 4) as usize, (sizes & 0xF) as usize);
    let sizes2 = c.uint(1)?;
    let (base_offset_size, index_size) = (
        (sizes2 >> 4) as usize,
        if version >= 1 {
            (sizes2 & 0xF) as usize
        } else {
            0
        },
    );
    let count = if version < 2 { c.uint(2)? } else { c.uint(4)? };
    let mut out = Vec::new();
    // An extent whose fields are all zero bytes wide takes no room in the box, so the
    // counts the box declares bound nothing: the extents walked are bounded here.
    let mut walked = 0usize;
    for _ in 0..count {
        let id = if version < 2 { c.uint(2)? } else { c.uint(4)? };
        let method = if version >= 1 { c.uint(2)? & 0xF } else { 0 };
        c.take(2)?; // data reference index
        let base = c.uint(base_offset_size)?;
        let extent_count = c.uint(2)?;
        walked = walked.saturating_add(usize::try_from(extent_count).unwrap_or(usize::MAX));
        if walked > MAX_EXTENTS {
            return Err(invalid("too many item extents"));
        }
        for _ in 0..extent_count {
            if index_size > 0 {
                c.take(index_size)?;
            }
            let offset = c.uint(offset_size)?;
            let length = c.uint(length_size)?;
            if method == 0 && items.contains(&(id as u32)) {
                let start = base
                    .checked_add(offset)
                    .ok_or_else(|| invalid("item outside the file"))?;
                out.push((start, length));
            }
        }
    }
    Ok(out)
}

/// Overwrites the Exif and XMP items of the HEIF file at `path` with zeros. The `meta`
/// box is small and read whole; item data is not read at all.
pub fn blank_metadata(path: &Path) -> io::Result<u64> {
    let mut file = File::options().read(true).write(true).open(path)?;
    let total = file.metadata()?.len();
    // Find the top-level meta box by walking box headers.
    let mut at = 0u64;
    let mut meta = None;
    while at + 8 <= total {
        file.seek(SeekFrom::Start(at))?;
        let mut head = [0u8; 16];
        let n = file.read(&mut head)?;
        if n < 8 {
            break;
        }
        let mut size = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let mut header = 8;
        if size == 1 && n >= 16 {
            size = u64::from_be_bytes(head[8..16].try_into().map_err(|_| invalid("size"))?);
            header = 16;
        } else if size == 0 {
            size = total - at;
        }
        if size < header || at.checked_add(size).is_none_or(|end| end > total) {
            return Err(invalid("box runs past the end"));
        }
        if &head[4..8] == b"meta" {
            meta = Some((at + header, size - header));
            break;
        }
        at += size;
    }
    let Some((start, len)) = meta else {
        return Ok(0);
    };
    if len > 4 * 1024 * 1024 {
        return Err(invalid("meta box too large"));
    }
    let mut body = vec![0u8; usize::try_from(len).map_err(|_| invalid("meta size"))?];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut body)?;
    // meta is a full box: version and flags first.
    let children = boxes(body.get(4..).ok_or_else(|| invalid("short box"))?)?;
    let iinf = children.iter().find(|(k, _)| k == b"iinf").map(|(_, b)| *b);
    let iloc = children.iter().find(|(k, _)| k == b"iloc").map(|(_, b)| *b);
    let (Some(iinf), Some(iloc)) = (iinf, iloc) else {
        return Ok(0);
    };
    let items = metadata_items(iinf)?;
    let mut blanked = 0;
    for (offset, length) in extents(iloc, &items)? {
        if offset.checked_add(length).is_none_or(|end| end > total) {
            return Err(invalid("item outside the file"));
        }
        file.seek(SeekFrom::Start(offset))?;
        let zeros = vec![0u8; 64 * 1024];
        let mut left = length;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        blanked += length;
    }
    file.flush()?;
    Ok(blanked)
}
