//! Great-circle distance on WGS84 coordinates.

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Haversine distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// A cheap box test before the exact distance: degrees of latitude and longitude that
/// cover `km` around `lat`.
pub fn bounding_deltas(lat: f64, km: f64) -> (f64, f64) {
    let dlat = km / 110.574;
    let dlon = km / (111.320 * lat.to_radians().cos().max(0.01));
    (dlat, dlon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distance() {
        // King's College Hospital (SE5 9RS) to the Royal London (E1 1FR): about 6 km.
        let d = haversine_km(51.4682, -0.0937, 51.5186, -0.0590);
        assert!((d - 6.1).abs() < 0.3, "{d}");
        assert_eq!(haversine_km(51.5, -0.1, 51.5, -0.1), 0.0);
    }
}
