//! An in-memory index of every tenant's customers for paged text search and
//! sorting, kept in step with the `customers` table by a commit listener.
//!
//! A scan of 100,000 stored rows per search would cost tens of milliseconds;
//! this index answers from memory: a substring search walks compact
//! lower-cased titles, and unfiltered pages by title or creation time come
//! straight from ordered sets.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use memchr::memmem::Finder;

use crate::domain::customer::Customer;
use crate::domain::ids::{CustomerId, TenantId};
use crate::domain::page::{PageLink, SortOrder};
use crate::store::{KvRead, Mutation, Store, StoreResult, Table, customers};

/// Sort keys a customer list accepts, as ThingsBoard names them.
pub const SORT_PROPERTIES: [&str; 5] = ["createdTime", "title", "email", "country", "city"];

#[derive(Debug, Clone)]
struct Entry {
    title: String,
    created: i64,
    email: String,
    country: String,
    city: String,
}

impl Entry {
    fn of(c: &Customer) -> Self {
        let lower = |s: &Option<String>| s.as_deref().unwrap_or("").to_lowercase();
        Entry {
            title: c.title.to_lowercase(),
            created: c.created_time,
            email: lower(&c.contact.email),
            country: lower(&c.contact.country),
            city: lower(&c.contact.city),
        }
    }
}

#[derive(Debug, Default)]
struct TenantCustomers {
    entries: HashMap<CustomerId, Entry>,
    by_title: BTreeSet<(String, CustomerId)>,
    by_created: BTreeSet<(i64, CustomerId)>,
}

impl TenantCustomers {
    fn upsert(&mut self, id: CustomerId, entry: Entry) {
        self.remove(id);
        self.by_title.insert((entry.title.clone(), id));
        self.by_created.insert((entry.created, id));
        self.entries.insert(id, entry);
    }

    fn remove(&mut self, id: CustomerId) {
        if let Some(old) = self.entries.remove(&id) {
            self.by_title.remove(&(old.title, id));
            self.by_created.remove(&(old.created, id));
        }
    }
}

#[derive(Debug, Default)]
pub struct CustomerIndex {
    tenants: RwLock<HashMap<TenantId, TenantCustomers>>,
}

impl CustomerIndex {
    /// Builds the index from the store and subscribes it to later commits.
    pub fn attach(store: &dyn Store) -> StoreResult<Arc<Self>> {
        let index = Arc::new(CustomerIndex::default());
        let snapshot = store.snapshot()?;
        index.load(&*snapshot)?;
        let listener = Arc::clone(&index);
        store.on_commit(Arc::new(move |mutations: &[Mutation]| {
            listener.apply(mutations);
        }));
        Ok(index)
    }

    fn load(&self, r: &dyn KvRead) -> StoreResult<()> {
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        customers::for_each(r, |c| {
            tenants
                .entry(c.tenant_id)
                .or_default()
                .upsert(c.id, Entry::of(&c));
        })
    }

    fn apply(&self, mutations: &[Mutation]) {
        let relevant = mutations.iter().filter(|m| m.table == Table::Customers);
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        for m in relevant {
            let Some((tenant, id)) = customers::split_key(&m.key) else {
                continue;
            };
            match &m.value {
                Some(v) => match customers::decode_row(v) {
                    Ok(c) => tenants.entry(tenant).or_default().upsert(id, Entry::of(&c)),
                    Err(e) => tracing::error!(error = %e, "customer index skipped a row"),
                },
                None => {
                    if let Some(t) = tenants.get_mut(&tenant) {
                        t.remove(id);
                    }
                }
            }
        }
    }

    /// The ids on the requested page, and how many customers match in all.
    /// `visible` narrows the set (e.g. to one customer for its own users).
    pub fn page(
        &self,
        tenant: TenantId,
        link: &PageLink,
        visible: Option<&dyn Fn(CustomerId) -> bool>,
    ) -> (Vec<CustomerId>, usize) {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        let Some(t) = tenants.get(&tenant) else {
            return (Vec::new(), 0);
        };
        let sort = link.sort_property.as_deref().unwrap_or("createdTime");
        let desc = link.sort_order == SortOrder::Desc;
        if link.text_search.is_none()
            && visible.is_none()
            && matches!(sort, "title" | "createdTime")
        {
            return ordered_page(t, sort, desc, link);
        }
        let finder = link.text_search.as_deref().map(Finder::new);
        let mut hits: Vec<(CustomerId, &Entry)> = t
            .entries
            .iter()
            .filter(|(id, e)| {
                finder
                    .as_ref()
                    .is_none_or(|f| f.find(e.title.as_bytes()).is_some())
                    && visible.is_none_or(|v| v(**id))
            })
            .map(|(id, e)| (*id, e))
            .collect();
        let total = hits.len();
        hits.sort_unstable_by(|(ia, a), (ib, b)| {
            let ord = match sort {
                "title" => a.title.cmp(&b.title),
                "email" => a.email.cmp(&b.email),
                "country" => a.country.cmp(&b.country),
                "city" => a.city.cmp(&b.city),
                _ => a.created.cmp(&b.created),
            }
            .then(ia.cmp(ib));
            if desc { ord.reverse() } else { ord }
        });
        let ids = hits
            .into_iter()
            .skip(link.offset())
            .take(link.page_size)
            .map(|(id, _)| id)
            .collect();
        (ids, total)
    }

    /// How many customers a tenant has.
    pub fn count(&self, tenant: TenantId) -> usize {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        tenants.get(&tenant).map_or(0, |t| t.entries.len())
    }
}

fn ordered_page(
    t: &TenantCustomers,
    sort: &str,
    desc: bool,
    link: &PageLink,
) -> (Vec<CustomerId>, usize) {
    let total = t.entries.len();
    let (skip, take) = (link.offset(), link.page_size);
    let ids = if sort == "title" {
        let iter = t.by_title.iter().map(|(_, id)| *id);
        if desc {
            iter.rev().skip(skip).take(take).collect()
        } else {
            iter.skip(skip).take(take).collect()
        }
    } else {
        let iter = t.by_created.iter().map(|(_, id)| *id);
        if desc {
            iter.rev().skip(skip).take(take).collect()
        } else {
            iter.skip(skip).take(take).collect()
        }
    };
    (ids, total)
}
