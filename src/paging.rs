//! The HSDS 3.0 page envelope and the `page`/`per_page` parameters.
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Debug, Clone, Copy, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    /// Items a page: default 20, at most 100.
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1)
    }

    pub fn per_page(&self) -> u32 {
        self.per_page.unwrap_or(DEFAULT_PER_PAGE)
    }

    pub fn offset(&self) -> usize {
        (self.page() as usize - 1) * self.per_page() as usize
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub total_items: u64,
    pub total_pages: u64,
    pub page_number: u32,
    pub size: u32,
    pub first_page: bool,
    pub last_page: bool,
    pub empty: bool,
    pub contents: Vec<T>,
}

impl<T> Page<T> {
    /// Builds the envelope for one page of `total` items.
    pub fn new(contents: Vec<T>, total: u64, query: &PageQuery) -> Self {
        let size = query.per_page();
        let total_pages = total.div_ceil(u64::from(size));
        let page_number = query.page();
        Self {
            total_items: total,
            total_pages,
            page_number,
            size,
            first_page: page_number == 1,
            last_page: u64::from(page_number) >= total_pages,
            empty: contents.is_empty(),
            contents,
        }
    }

    /// Slices a full, already-ordered list.
    pub fn slice(all: Vec<T>, query: &PageQuery) -> Self {
        let total = all.len() as u64;
        let contents = all
            .into_iter()
            .skip(query.offset())
            .take(query.per_page() as usize)
            .collect();
        Self::new(contents, total, query)
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            total_items: self.total_items,
            total_pages: self.total_pages,
            page_number: self.page_number,
            size: self.size,
            first_page: self.first_page,
            last_page: self.last_page,
            empty: self.empty,
            contents: self.contents.into_iter().map(f).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(page: u32, per_page: u32) -> PageQuery {
        PageQuery {
            page: Some(page),
            per_page: Some(per_page),
        }
    }

    #[test]
    fn envelope_edges() {
        let p = Page::slice((0..45).collect::<Vec<_>>(), &q(3, 20));
        assert_eq!((p.total_items, p.total_pages, p.contents.len()), (45, 3, 5));
        assert!(p.last_page && !p.first_page && !p.empty);
        let p = Page::slice((0..40).collect::<Vec<_>>(), &q(2, 20));
        assert!(p.last_page);
        let p = Page::slice((0..40).collect::<Vec<_>>(), &q(3, 20));
        assert!(p.empty && p.last_page);
        let p = Page::slice(Vec::<u8>::new(), &PageQuery::default());
        assert_eq!(
            (p.total_pages, p.first_page, p.last_page, p.empty),
            (0, true, true, true)
        );
    }
}
