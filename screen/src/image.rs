//! A grab in memory: 8-bit RGB rows, masking, the content hash, and the PPM bytes handed
//! to the OCR engine.

use sha2::{Digest, Sha256};

use crate::Rect;

/// Block side of the hash's downscaled copy, pixels.
const HASH_BLOCK: u32 = 8;

/// Pixels, row-major RGB (3 bytes a pixel, no padding).
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}×{})", self.width, self.height)
    }
}

impl Image {
    /// A black image.
    pub fn black(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            rgb: vec![0; width as usize * height as usize * 3],
        }
    }

    /// Blacks out `r` (image coordinates; the part inside the image).
    pub fn fill(&mut self, r: Rect) {
        let whole = Rect {
            x: 0,
            y: 0,
            width: self.width,
            height: self.height,
        };
        let Some(r) = whole.intersect(&r) else { return };
        for y in r.y..r.y + r.height as i32 {
            let row = y as usize * self.width as usize * 3;
            let from = row + r.x as usize * 3;
            self.rgb[from..from + r.width as usize * 3].fill(0);
        }
    }

    /// sha256, hex (32 digits), of a 1/8-scale grey copy quantised to 64 levels, with the
    /// size: equal for equal screens, and for screens that differ only below a block's
    /// quantum.
    pub fn content_hash(&self) -> String {
        let bw = self.width.div_ceil(HASH_BLOCK) as usize;
        let bh = self.height.div_ceil(HASH_BLOCK) as usize;
        let mut sums = vec![(0u32, 0u32); bw * bh];
        for y in 0..self.height as usize {
            let row = &self.rgb[y * self.width as usize * 3..(y + 1) * self.width as usize * 3];
            let by = y / HASH_BLOCK as usize;
            for (x, px) in row.chunks_exact(3).enumerate() {
                // ITU-R BT.601 luma, in integers.
                let grey =
                    (299 * u32::from(px[0]) + 587 * u32::from(px[1]) + 114 * u32::from(px[2]))
                        / 1000;
                let cell = &mut sums[by * bw + x / HASH_BLOCK as usize];
                cell.0 += grey;
                cell.1 += 1;
            }
        }
        let mut h = Sha256::new();
        h.update(self.width.to_le_bytes());
        h.update(self.height.to_le_bytes());
        let levels: Vec<u8> = sums
            .iter()
            .map(|&(sum, n)| (sum / n.max(1)) as u8 >> 2)
            .collect();
        h.update(&levels);
        hex::encode(&h.finalize()[..16])
    }

    /// Writes the image as binary PPM (P6), scaled up `scale` times by pixel repetition
    /// (small screen fonts read better to Tesseract at twice their size), one row at a
    /// time: the scaled copy is never whole in memory. Errors: the writer's.
    pub fn write_ppm(&self, mut out: impl std::io::Write, scale: u32) -> std::io::Result<()> {
        let s = scale.max(1) as usize;
        let (w, h) = (self.width as usize, self.height as usize);
        write!(out, "P6\n{} {}\n255\n", w * s, h * s)?;
        let mut line = Vec::with_capacity(w * 3 * s);
        for y in 0..h {
            line.clear();
            for px in self.rgb[y * w * 3..(y + 1) * w * 3].chunks_exact(3) {
                for _ in 0..s {
                    line.extend_from_slice(px);
                }
            }
            for _ in 0..s {
                out.write_all(&line)?;
            }
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(w: u32, h: u32) -> Image {
        let mut i = Image::black(w, h);
        for (n, b) in i.rgb.iter_mut().enumerate() {
            *b = (n * 7 % 251) as u8;
        }
        i
    }

    #[test]
    fn equal_screens_hash_equal_and_a_change_changes_the_hash() {
        let a = pattern(1920, 1080);
        assert_eq!(a.content_hash(), pattern(1920, 1080).content_hash());
        let mut b = a.clone();
        b.fill(Rect {
            x: 100,
            y: 100,
            width: 40,
            height: 20,
        });
        assert_ne!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), pattern(1920, 1081).content_hash());
    }

    #[test]
    fn fill_clips_to_the_image_and_ppm_scales() {
        let mut i = pattern(10, 4);
        i.fill(Rect {
            x: 8,
            y: -3,
            width: 50,
            height: 5,
        });
        assert_eq!(&i.rgb[8 * 3..10 * 3], &[0; 6]);
        assert_eq!(&i.rgb[30 + 24..30 + 30], &[0; 6]);
        assert_ne!(&i.rgb[2 * 30 + 24..2 * 30 + 30], &[0; 6]);
        let mut ppm = Vec::new();
        i.write_ppm(&mut ppm, 2).expect("ppm");
        assert!(ppm.starts_with(b"P6\n20 8\n255\n"));
        assert_eq!(ppm.len(), "P6\n20 8\n255\n".len() + 20 * 8 * 3);
    }
}
