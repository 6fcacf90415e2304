//! Places: postcodes, outward codes and boroughs, resolved offline.
mod distance;
mod gazetteer;
mod postcode;
pub mod routes;

pub use distance::{bounding_deltas, haversine_km};
pub use gazetteer::{Borough, Gazetteer, LookupError, Place, Precision};
pub use postcode::{Outcode, PlaceInput, Postcode};
