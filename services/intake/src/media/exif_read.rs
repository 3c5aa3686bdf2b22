//! Reading what the camera wrote: the location (if any) and the orientation.

use std::io::BufReader;
use std::path::Path;

use exif::{In, Tag, Value};

/// What a photo's metadata tells us.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhotoMeta {
    /// Where it was taken, as (latitude, longitude), when the camera recorded it.
    pub gps: Option<(f64, f64)>,
    /// EXIF orientation (1 = upright); 1 when absent.
    pub orientation: u16,
}

/// Reads a photo's metadata; a photo without (readable) metadata has none.
pub fn read_meta(path: &Path) -> PhotoMeta {
    let Ok(file) = std::fs::File::open(path) else {
        return PhotoMeta::default();
    };
    let Ok(exif) = exif::Reader::new().read_from_container(&mut BufReader::new(file)) else {
        return PhotoMeta {
            gps: None,
            orientation: 1,
        };
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1);
    let coordinate = |value: Tag, reference: Tag, negative: &[u8]| -> Option<f64> {
        let field = exif.get_field(value, In::PRIMARY)?;
        let Value::Rational(parts) = &field.value else {
            return None;
        };
        let degrees = parts.first()?.to_f64()
            + parts.get(1).map_or(0.0, |m| m.to_f64() / 60.0)
            + parts.get(2).map_or(0.0, |s| s.to_f64() / 3600.0);
        let sign = match &exif.get_field(reference, In::PRIMARY)?.value {
            Value::Ascii(v)
                if v.first()
                    .is_some_and(|r| negative.contains(r.first().unwrap_or(&0))) =>
            {
                -1.0
            }
            _ => 1.0,
        };
        degrees.is_finite().then_some(sign * degrees)
    };
    let lat = coordinate(Tag::GPSLatitude, Tag::GPSLatitudeRef, b"S");
    let lng = coordinate(Tag::GPSLongitude, Tag::GPSLongitudeRef, b"W");
    let gps = match (lat, lng) {
        (Some(lat), Some(lng))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) =>
        {
            Some((lat, lng))
        }
        _ => None,
    };
    PhotoMeta { gps, orientation }
}
