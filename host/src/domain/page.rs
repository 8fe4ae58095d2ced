//! Paging as ThingsBoard does it: 0-based pages, a text search, one sort key.

use serde::Serialize;

use super::validate::ValidationError;

/// Largest page a caller may ask for; bigger requests are refused, not clipped,
/// so a client never silently misses rows.
pub const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLink {
    pub page_size: usize,
    pub page: usize,
    /// Lower-cased search text; `None` when absent or blank.
    pub text_search: Option<String>,
    pub sort_property: Option<String>,
    pub sort_order: SortOrder,
}

impl PageLink {
    /// Builds a page request from raw query values, with ThingsBoard's messages.
    pub fn parse(
        page_size: Option<&str>,
        page: Option<&str>,
        text_search: Option<&str>,
        sort_property: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let page_size = required_number("pageSize", page_size)?;
        if page_size == 0 {
            return Err(ValidationError::new("Page size must be greater than zero!"));
        }
        if page_size > MAX_PAGE_SIZE {
            return Err(ValidationError::new(format!(
                "Page size must be equal or less than {MAX_PAGE_SIZE}!"
            )));
        }
        let page = required_number("page", page)?;
        let sort_order = match sort_order.map(str::trim) {
            None | Some("") => SortOrder::Asc,
            Some(s) if s.eq_ignore_ascii_case("ASC") => SortOrder::Asc,
            Some(s) if s.eq_ignore_ascii_case("DESC") => SortOrder::Desc,
            Some(s) => {
                return Err(ValidationError::new(format!("Invalid sort order: '{s}'")));
            }
        };
        let text_search = text_search
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let sort_property = sort_property
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(PageLink {
            page_size,
            page,
            text_search,
            sort_property,
            sort_order,
        })
    }

    /// Checks the sort property against what the list supports.
    pub fn check_sort(&self, allowed: &[&str]) -> Result<(), ValidationError> {
        match &self.sort_property {
            Some(p) if !allowed.contains(&p.as_str()) => Err(ValidationError::new(format!(
                "Invalid sort property: '{p}'. Supported: {}",
                allowed.join(", ")
            ))),
            _ => Ok(()),
        }
    }

    /// Index of the first row of this page, saturating on absurd page numbers.
    pub fn offset(&self) -> usize {
        self.page.saturating_mul(self.page_size)
    }

    /// Does `text` (already lower-cased) match the search?
    pub fn matches(&self, lowercase_text: &str) -> bool {
        self.text_search
            .as_deref()
            .is_none_or(|needle| lowercase_text.contains(needle))
    }
}

fn required_number(name: &str, value: Option<&str>) -> Result<usize, ValidationError> {
    let value = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ValidationError::new(format!(
                "Required request parameter '{name}' for method parameter type int is not present"
            ))
        })?;
    value.parse::<usize>().map_err(|_| {
        ValidationError::new(format!("Parameter '{name}' must be a non-negative number"))
    })
}

/// One page of results in ThingsBoard's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageData<T> {
    pub data: Vec<T>,
    pub total_pages: usize,
    pub total_elements: usize,
    pub has_next: bool,
}

impl<T> PageData<T> {
    pub fn new(data: Vec<T>, total_elements: usize, link: &PageLink) -> Self {
        let total_pages = total_elements.div_ceil(link.page_size);
        let has_next = link.offset().saturating_add(data.len()) < total_elements;
        PageData {
            data,
            total_pages,
            total_elements,
            has_next,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> PageData<U> {
        PageData {
            data: self.data.into_iter().map(f).collect(),
            total_pages: self.total_pages,
            total_elements: self.total_elements,
            has_next: self.has_next,
        }
    }

    /// [`PageData::map`] with a conversion that may fail.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<PageData<U>, E> {
        Ok(PageData {
            data: self.data.into_iter().map(f).collect::<Result<_, _>>()?,
            total_pages: self.total_pages,
            total_elements: self.total_elements,
            has_next: self.has_next,
        })
    }

    /// Sorts a filtered list by `key` in the link's order, then pages it.
    /// The key should end with the row's id, so that equal sort values keep
    /// a stable order across pages; each row's key is computed once (keys
    /// are often lower-cased copies of names).
    pub fn sorted_by_key<K: Ord>(
        mut all: Vec<T>,
        link: &PageLink,
        key: impl FnMut(&T) -> K,
    ) -> Self {
        all.sort_by_cached_key(key);
        if link.sort_order == SortOrder::Desc {
            all.reverse();
        }
        Self::from_sorted(all, link)
    }

    /// Pages an already filtered and sorted list.
    pub fn from_sorted(all: Vec<T>, link: &PageLink) -> Self {
        let total = all.len();
        let data = all
            .into_iter()
            .skip(link.offset())
            .take(link.page_size)
            .collect();
        PageData::new(data, total, link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(size: &str, page: &str) -> Result<PageLink, ValidationError> {
        PageLink::parse(Some(size), Some(page), None, None, None)
    }

    #[test]
    fn page_size_and_page_are_required_and_bounded() {
        assert!(PageLink::parse(None, Some("0"), None, None, None).is_err());
        assert!(link("0", "0").is_err());
        assert!(link("1001", "0").is_err());
        assert!(link("-1", "0").is_err());
        assert!(link("10", "x").is_err());
        assert_eq!(link("10", "2").unwrap().offset(), 20);
    }

    #[test]
    fn page_data_counts_pages_and_next() {
        let l = link("2", "1").unwrap();
        let p = PageData::from_sorted(vec![1, 2, 3, 4, 5], &l);
        assert_eq!(p.data, vec![3, 4]);
        assert_eq!((p.total_pages, p.total_elements, p.has_next), (3, 5, true));
        let last = PageData::from_sorted(vec![1, 2, 3, 4, 5], &link("2", "2").unwrap());
        assert!(!last.has_next);
    }

    #[test]
    fn sorting_follows_the_order_and_pages_after() {
        let desc = PageLink::parse(Some("2"), Some("0"), None, None, Some("DESC")).unwrap();
        let p = PageData::sorted_by_key(vec![3, 1, 5, 2], &desc, |n| *n);
        assert_eq!((p.data, p.total_elements), (vec![5, 3], 4));
        let asc = link("3", "0").unwrap();
        let p = PageData::sorted_by_key(vec!["b", "C", "a"], &asc, |s| s.to_lowercase());
        assert_eq!(p.data, vec!["a", "b", "C"]);
    }

    #[test]
    fn text_search_is_case_insensitive_substring() {
        let l = PageLink::parse(Some("5"), Some("0"), Some(" AcMe "), None, None).unwrap();
        assert!(l.matches("the acme corp"));
        assert!(!l.matches("globex"));
    }
}
