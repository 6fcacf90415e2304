//! The London gazetteer: the 33 boroughs, every London postcode and the outward codes,
//! all held in memory from the shipped tables. A young person's postcode is looked up
//! here and sent nowhere.
use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
};

use anyhow::{Context, bail};
use flate2::read::GzDecoder;

use super::distance::haversine_km;
use super::postcode::{Outcode, PlaceInput, Postcode, pack};

#[derive(Debug, Clone, PartialEq)]
pub struct Borough {
    /// The GSS code's number (`E09000012` is 12).
    pub id: i32,
    pub slug: String,
    pub gss_code: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Copy)]
struct PostcodeEntry {
    key: u64,
    lat: f32,
    lon: f32,
    borough: u8,
}

#[derive(Debug, Clone)]
struct District {
    lat: f64,
    lon: f64,
    borough: u8,
    london_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Postcode,
    District,
}

/// A place resolved from a postcode or outward code.
#[derive(Debug, Clone)]
pub struct Place {
    pub postcode: Option<String>,
    pub outcode: String,
    pub lat: f64,
    pub lon: f64,
    pub precision: Precision,
    pub borough: Borough,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{0} is not a London postcode (or not one we know)")]
    NotInLondon(String),
    #[error("most of {0} is outside London: send the full postcode")]
    MostlyOutsideLondon(String),
    #[error("is not a UK postcode or outward code (like E8 3PL or E8)")]
    Malformed,
}

/// Grid cell size for the nearest-postcode index, in degrees (about 1 km).
const CELL: f64 = 0.01;

pub struct Gazetteer {
    boroughs: Vec<Borough>,
    postcodes: Vec<PostcodeEntry>,
    districts: HashMap<String, District>,
    grid: HashMap<(i32, i32), Vec<u32>>,
}

fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

fn cell_of(lat: f64, lon: f64) -> (i32, i32) {
    ((lat / CELL).floor() as i32, (lon / CELL).floor() as i32)
}

impl Gazetteer {
    /// Loads `data/` under the content directory once per process and shares it (keyed
    /// by the resolved folder, so content folders that link to one `data/` share it).
    pub fn load_cached(content_dir: &Path) -> anyhow::Result<Arc<Self>> {
        static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Gazetteer>>>> = OnceLock::new();
        let data_dir = content_dir.join("data");
        let key = data_dir.canonicalize().unwrap_or_else(|_| data_dir.clone());
        let cache = CACHE.get_or_init(Default::default);
        let mut guard = cache
            .lock()
            .map_err(|_| anyhow::anyhow!("gazetteer cache poisoned"))?;
        if let Some(g) = guard.get(&key) {
            return Ok(g.clone());
        }
        let g = Arc::new(Self::load(&data_dir)?);
        guard.insert(key, g.clone());
        Ok(g)
    }

    pub fn load(data_dir: &Path) -> anyhow::Result<Self> {
        let boroughs = load_boroughs(&data_dir.join("boroughs.csv"))?;
        let by_gss: HashMap<&str, u8> = boroughs
            .iter()
            .enumerate()
            .map(|(i, b)| (b.gss_code.as_str(), i as u8))
            .collect();
        let postcodes = load_postcodes(&data_dir.join("postcodes.csv.gz"), &by_gss)?;
        let shares = load_district_shares(&data_dir.join("postcode_districts.csv"))?;

        // Each outward code's centroid and main borough, from its London postcodes only.
        let mut sums: HashMap<String, (f64, f64, usize, HashMap<u8, usize>)> = HashMap::new();
        let mut grid: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        for (i, p) in postcodes.iter().enumerate() {
            let text = unpack(p.key);
            let out = &text[..text.len() - 3];
            let e = sums.entry(out.to_string()).or_default();
            e.0 += f64::from(p.lat);
            e.1 += f64::from(p.lon);
            e.2 += 1;
            *e.3.entry(p.borough).or_default() += 1;
            grid.entry(cell_of(f64::from(p.lat), f64::from(p.lon)))
                .or_default()
                .push(i as u32);
        }
        let districts = sums
            .into_iter()
            .filter_map(|(out, (lat, lon, n, counts))| {
                let borough = counts.into_iter().max_by_key(|(b, c)| (*c, *b))?.0;
                let london_share = shares.get(&out).copied().unwrap_or(1.0);
                Some((
                    out,
                    District {
                        lat: lat / n as f64,
                        lon: lon / n as f64,
                        borough,
                        london_share,
                    },
                ))
            })
            .collect();
        Ok(Self {
            boroughs,
            postcodes,
            districts,
            grid,
        })
    }

    pub fn boroughs(&self) -> &[Borough] {
        &self.boroughs
    }

    /// A borough by slug (`hackney`) or GSS code (`E09000012`), case-insensitive.
    pub fn borough(&self, slug_or_code: &str) -> Option<&Borough> {
        let s = slug_or_code.trim();
        self.boroughs
            .iter()
            .find(|b| b.slug.eq_ignore_ascii_case(s) || b.gss_code.eq_ignore_ascii_case(s))
    }

    pub fn borough_by_id(&self, id: i32) -> Option<&Borough> {
        self.boroughs.iter().find(|b| b.id == id)
    }

    pub fn postcode(&self, postcode: &Postcode) -> Option<Place> {
        let key = postcode.key();
        let i = self.postcodes.binary_search_by_key(&key, |p| p.key).ok()?;
        let p = self.postcodes[i];
        Some(Place {
            postcode: Some(postcode.as_str().to_string()),
            outcode: postcode.outcode().as_str().to_string(),
            lat: round5(f64::from(p.lat)),
            lon: round5(f64::from(p.lon)),
            precision: Precision::Postcode,
            borough: self.boroughs[usize::from(p.borough)].clone(),
        })
    }

    pub fn outcode(&self, outcode: &Outcode) -> Result<Place, LookupError> {
        let d = self
            .districts
            .get(outcode.as_str())
            .ok_or_else(|| LookupError::NotInLondon(outcode.to_string()))?;
        if d.london_share < 0.25 {
            return Err(LookupError::MostlyOutsideLondon(outcode.to_string()));
        }
        Ok(Place {
            postcode: None,
            outcode: outcode.to_string(),
            lat: round5(d.lat),
            lon: round5(d.lon),
            precision: Precision::District,
            borough: self.boroughs[usize::from(d.borough)].clone(),
        })
    }

    /// Every postcode district that `outcode` answers (mostly in London), in outward-code
    /// order: what the app needs to place an outward code without a connection.
    pub fn london_districts(&self) -> Vec<Place> {
        let mut codes: Vec<&String> = self
            .districts
            .iter()
            .filter(|(_, d)| d.london_share >= 0.25)
            .map(|(code, _)| code)
            .collect();
        codes.sort();
        codes
            .into_iter()
            .filter_map(|code| {
                let d = self.districts.get(code)?;
                Some(Place {
                    postcode: None,
                    outcode: code.clone(),
                    lat: round5(d.lat),
                    lon: round5(d.lon),
                    precision: Precision::District,
                    borough: self.boroughs.get(usize::from(d.borough))?.clone(),
                })
            })
            .collect()
    }

    /// Resolves what someone typed: a full postcode exactly, an outward code to its
    /// London centroid.
    pub fn resolve(&self, raw: &str) -> Result<Place, LookupError> {
        match PlaceInput::parse(raw).ok_or(LookupError::Malformed)? {
            PlaceInput::Postcode(pc) => self
                .postcode(&pc)
                .ok_or_else(|| LookupError::NotInLondon(pc.to_string())),
            PlaceInput::Outcode(out) => self.outcode(&out),
        }
    }

    /// The borough of the nearest London postcode within about 2 km, if any: so a
    /// point given as `lat`/`lon` can still find borough-wide services.
    pub fn borough_at(&self, lat: f64, lon: f64) -> Option<&Borough> {
        let (cy, cx) = cell_of(lat, lon);
        let mut best: Option<(f64, u8)> = None;
        for dy in -2..=2 {
            for dx in -2..=2 {
                for &i in self.grid.get(&(cy + dy, cx + dx)).into_iter().flatten() {
                    let p = self.postcodes[i as usize];
                    let d = haversine_km(lat, lon, f64::from(p.lat), f64::from(p.lon));
                    if d <= 2.0 && best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, p.borough));
                    }
                }
            }
        }
        best.map(|(_, b)| &self.boroughs[usize::from(b)])
    }

    pub fn postcode_count(&self) -> usize {
        self.postcodes.len()
    }

    /// Every London postcode with its coordinates (for the synthetic data generator).
    pub fn postcode_at(&self, index: usize) -> Option<(String, f64, f64)> {
        let p = self.postcodes.get(index)?;
        let text = unpack(p.key);
        let (out, inward) = text.split_at(text.len() - 3);
        Some((
            format!("{out} {inward}"),
            f64::from(p.lat),
            f64::from(p.lon),
        ))
    }
}

fn round5(x: f64) -> f64 {
    (x * 100_000.0).round() / 100_000.0
}

fn unpack(key: u64) -> String {
    key.to_be_bytes()
        .iter()
        .filter(|b| **b != 0)
        .map(|b| *b as char)
        .collect()
}

fn load_boroughs(path: &Path) -> anyhow::Result<Vec<Borough>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}: row {}", path.display(), n + 2))?;
        let field = |i: usize| row.get(i).unwrap_or_default().trim().to_string();
        let gss = field(0);
        let id: i32 = gss
            .get(3..)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("{}: row {}: bad GSS code {gss}", path.display(), n + 2))?;
        let num = |i: usize| -> anyhow::Result<f64> {
            field(i)
                .parse()
                .with_context(|| format!("{}: row {}: column {}", path.display(), n + 2, i + 1))
        };
        out.push(Borough {
            id,
            slug: slugify(&field(2)),
            gss_code: gss,
            name: field(2),
            lat: num(7)?,
            lon: num(8)?,
        });
    }
    if out.len() != 33 {
        bail!(
            "{}: expected 33 London authorities, found {}",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}

fn load_district_shares(path: &Path) -> anyhow::Result<HashMap<String, f64>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = HashMap::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", path.display()))?;
        if let (Some(out_code), Some(Ok(share))) = (row.get(0), row.get(5).map(str::parse)) {
            out.insert(out_code.to_string(), share);
        }
    }
    Ok(out)
}

fn load_postcodes(path: &Path, by_gss: &HashMap<&str, u8>) -> anyhow::Result<Vec<PostcodeEntry>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = BufReader::with_capacity(1 << 16, GzDecoder::new(file));
    let mut out = Vec::with_capacity(340_000);
    for (n, line) in reader.lines().enumerate().skip(1) {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let mut parts = line.split(',');
        let row = (|| {
            let pc = parts.next()?;
            let lat: f32 = parts.next()?.parse().ok()?;
            let lon: f32 = parts.next()?.parse().ok()?;
            let borough = *by_gss.get(parts.next()?.trim())?;
            Some(PostcodeEntry {
                key: pack(pc),
                lat,
                lon,
                borough,
            })
        })();
        match row {
            Some(entry) => out.push(entry),
            None if line.trim().is_empty() => {}
            None => bail!("{}: line {}: cannot read {line:?}", path.display(), n + 1),
        }
    }
    out.sort_unstable_by_key(|p| p.key);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gazetteer() -> Arc<Gazetteer> {
        Gazetteer::load_cached(&Path::new(env!("CARGO_MANIFEST_DIR")).join("content")).unwrap()
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Kingston upon Thames"), "kingston-upon-thames");
        assert_eq!(slugify("City of London"), "city-of-london");
        assert_eq!(slugify("Barking and Dagenham"), "barking-and-dagenham");
    }

    #[test]
    fn loads_all_boroughs_and_postcodes() {
        let g = gazetteer();
        assert_eq!(g.boroughs().len(), 33);
        assert!(g.postcode_count() > 330_000);
        assert_eq!(g.borough("E09000012").unwrap().slug, "hackney");
        assert_eq!(g.borough("Hackney").unwrap().gss_code, "E09000012");
    }

    #[test]
    fn resolves_postcodes_and_districts() {
        let g = gazetteer();
        let p = g.resolve("se59rs").unwrap();
        assert_eq!(p.postcode.as_deref(), Some("SE5 9RS"));
        assert_eq!(p.borough.slug, "lambeth");
        assert_eq!(p.precision, Precision::Postcode);
        let d = g.resolve("e8").unwrap();
        assert_eq!(d.borough.slug, "hackney");
        assert_eq!(d.precision, Precision::District);
        assert!(matches!(
            g.resolve("DA1"),
            Err(LookupError::MostlyOutsideLondon(_))
        ));
    }

    #[test]
    fn outside_london_and_malformed() {
        let g = gazetteer();
        // Edinburgh Castle: a real postcode, not a London one.
        assert!(matches!(
            g.resolve("EH1 2NG"),
            Err(LookupError::NotInLondon(_))
        ));
        assert!(matches!(g.resolve("M1"), Err(LookupError::NotInLondon(_))));
        assert_eq!(
            g.resolve("not a place").unwrap_err(),
            LookupError::Malformed
        );
    }

    #[test]
    fn reverse_lookup_finds_the_borough() {
        let g = gazetteer();
        let p = g.resolve("E1 1FR").unwrap();
        assert_eq!(g.borough_at(p.lat, p.lon).unwrap().slug, "tower-hamlets");
        // The middle of the North Sea.
        assert!(g.borough_at(54.0, 3.0).is_none());
    }
}
