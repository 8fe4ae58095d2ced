//! An in-memory index of every tenant's customers for paged text search and
//! sorting, kept in step with the `customers` table by a commit listener.
//!
//! A scan of 100,000 stored rows per search would cost tens of milliseconds;
//! this index answers from memory: a substring search walks compact
//! lower-cased titles, and unfiltered pages by title or creation time come
//! straight from ordered sets.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use memchr::memmem::Finder;

use crate::auth::rights::{CustomerTree, within};
use crate::domain::customer::Customer;
use crate::domain::ids::{CustomerId, TenantId};
use crate::domain::page::{PageLink, SortOrder};
use crate::store::{KvRead, Mutation, Store, StoreResult, Table, customers};

/// Sort keys a customer list accepts, as ThingsBoard names them.
pub const SORT_PROPERTIES: [&str; 5] = ["createdTime", "title", "email", "country", "city"];

/// Sort keys kept per customer besides its title and creation time.
#[derive(Debug, Clone)]
struct Entry {
    slot: usize,
    /// The customer above (`None`: the tenant): for the reach of roles.
    parent: Option<CustomerId>,
    email: String,
    country: String,
    city: String,
}

/// Where one customer's lower-cased title sits in the search text.
#[derive(Debug, Clone)]
struct Slot {
    start: usize,
    len: usize,
    created: i64,
    id: CustomerId,
    alive: bool,
}

/// One tenant's customers: the lower-cased titles laid end to end in one
/// buffer (NUL-separated; titles cannot contain NUL) so that a search is a
/// single `memmem` pass, plus ordered sets for unfiltered pages.
#[derive(Debug, Default)]
struct TenantCustomers {
    entries: HashMap<CustomerId, Entry>,
    by_title: BTreeSet<(String, CustomerId)>,
    by_created: BTreeSet<(i64, CustomerId)>,
    text: Vec<u8>,
    slots: Vec<Slot>,
    dead: usize,
    /// parent -> the customers it owns directly.
    children: HashMap<CustomerId, Vec<CustomerId>>,
}

impl TenantCustomers {
    fn upsert(&mut self, c: &Customer) {
        self.remove(c.id);
        let parent = c.parent_customer_id.filter(|p| !p.is_null());
        if let Some(p) = parent {
            self.children.entry(p).or_default().push(c.id);
        }
        let title = c.title.to_lowercase();
        let lower = |s: &Option<String>| s.as_deref().unwrap_or("").to_lowercase();
        self.slots.push(Slot {
            start: self.text.len(),
            len: title.len(),
            created: c.created_time,
            id: c.id,
            alive: true,
        });
        self.text.extend_from_slice(title.as_bytes());
        self.text.push(0);
        self.by_title.insert((title, c.id));
        self.by_created.insert((c.created_time, c.id));
        let entry = Entry {
            slot: self.slots.len() - 1,
            parent,
            email: lower(&c.contact.email),
            country: lower(&c.contact.country),
            city: lower(&c.contact.city),
        };
        self.entries.insert(c.id, entry);
    }

    fn remove(&mut self, id: CustomerId) {
        let Some(old) = self.entries.remove(&id) else {
            return;
        };
        if let Some(p) = old.parent
            && let Some(siblings) = self.children.get_mut(&p)
        {
            siblings.retain(|c| *c != id);
            if siblings.is_empty() {
                self.children.remove(&p);
            }
        }
        let slot = &mut self.slots[old.slot];
        slot.alive = false;
        let (created, title) = (slot.created, self.title(old.slot).to_owned());
        self.by_title.remove(&(title, id));
        self.by_created.remove(&(created, id));
        self.dead += 1;
        if self.dead > 1024 && self.dead * 2 > self.slots.len() {
            self.compact();
        }
    }

    fn title(&self, slot: usize) -> &str {
        let s = &self.slots[slot];
        std::str::from_utf8(&self.text[s.start..s.start + s.len]).unwrap_or("")
    }

    /// Drops the dead titles from the buffer (amortised: runs when half are dead).
    fn compact(&mut self) {
        let mut text = Vec::with_capacity(self.text.len() / 2);
        let mut slots = Vec::with_capacity(self.entries.len());
        for s in self.slots.iter().filter(|s| s.alive) {
            let start = text.len();
            text.extend_from_slice(&self.text[s.start..s.start + s.len + 1]);
            if let Some(e) = self.entries.get_mut(&s.id) {
                e.slot = slots.len();
            }
            slots.push(Slot { start, ..s.clone() });
        }
        self.text = text;
        self.slots = slots;
        self.dead = 0;
    }

    /// Slots of the live customers whose title contains `finder`'s needle.
    fn search(&self, finder: &Finder<'_>) -> Vec<usize> {
        let mut hits: Vec<usize> = Vec::new();
        let mut cursor = 0;
        for pos in finder.find_iter(&self.text) {
            // Matches come in buffer order, so the owning slot only moves forward.
            while cursor + 1 < self.slots.len() && self.slots[cursor + 1].start <= pos {
                cursor += 1;
            }
            if self.slots[cursor].alive && hits.last() != Some(&cursor) {
                hits.push(cursor);
            }
        }
        hits
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
            tenants.entry(c.tenant_id).or_default().upsert(&c);
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
                    Ok(c) => tenants.entry(tenant).or_default().upsert(&c),
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

    /// The tenant a customer belongs to, found by its id alone (a public
    /// login names only the customer).
    pub fn tenant_of(&self, customer: CustomerId) -> Option<TenantId> {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        tenants
            .iter()
            .find(|(_, t)| t.entries.contains_key(&customer))
            .map(|(id, _)| *id)
    }

    /// The customers below `root` at any depth (not `root` itself).
    pub fn below(&self, tenant: TenantId, root: CustomerId) -> HashSet<CustomerId> {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = HashSet::new();
        let Some(t) = tenants.get(&tenant) else {
            return out;
        };
        let mut stack = vec![root];
        while let Some(c) = stack.pop() {
            for &child in t.children.get(&c).into_iter().flatten() {
                // A set: a corrupt store's cycle ends here.
                if out.insert(child) {
                    stack.push(child);
                }
            }
        }
        out
    }

    /// The ids on the requested page, and how many customers match in all.
    pub fn page(&self, tenant: TenantId, link: &PageLink) -> (Vec<CustomerId>, usize) {
        self.page_among(tenant, link, None)
    }

    /// As [`CustomerIndex::page`], counting only the customers in `among`
    /// when given (those of one owner, say).
    pub fn page_among(
        &self,
        tenant: TenantId,
        link: &PageLink,
        among: Option<&HashSet<CustomerId>>,
    ) -> (Vec<CustomerId>, usize) {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        let Some(t) = tenants.get(&tenant) else {
            return (Vec::new(), 0);
        };
        let sort = link.sort_property.as_deref().unwrap_or("createdTime");
        let desc = link.sort_order == SortOrder::Desc;
        if among.is_none() && link.text_search.is_none() && matches!(sort, "title" | "createdTime")
        {
            return ordered_page(t, sort, desc, link);
        }
        let mut hits: Vec<usize> = match (link.text_search.as_deref(), among) {
            (Some(needle), _) => t.search(&Finder::new(needle.as_bytes())),
            // A few among many (a subtree): only those, not every slot.
            (None, Some(among)) => among
                .iter()
                .filter_map(|id| t.entries.get(id).map(|e| e.slot))
                .collect(),
            (None, None) => (0..t.slots.len()).filter(|&i| t.slots[i].alive).collect(),
        };
        if let (Some(among), Some(_)) = (among, link.text_search.as_deref()) {
            hits.retain(|&i| among.contains(&t.slots[i].id));
        }
        let total = hits.len();
        let key = |i: usize| -> &str {
            let e = &t.entries[&t.slots[i].id];
            match sort {
                "email" => &e.email,
                "country" => &e.country,
                _ => &e.city,
            }
        };
        let cmp = |a: &usize, b: &usize| {
            let (sa, sb) = (&t.slots[*a], &t.slots[*b]);
            let ord = match sort {
                "title" => t.title(*a).cmp(t.title(*b)),
                "createdTime" => sa.created.cmp(&sb.created),
                _ => key(*a).cmp(key(*b)),
            }
            .then(sa.id.cmp(&sb.id));
            if desc { ord.reverse() } else { ord }
        };
        // Only the rows up to the end of the page need ordering.
        let wanted = link.offset().saturating_add(link.page_size);
        if wanted < hits.len() {
            hits.select_nth_unstable_by(wanted, cmp);
            hits.truncate(wanted);
        }
        hits.sort_unstable_by(cmp);
        let ids = hits
            .into_iter()
            .skip(link.offset())
            .map(|i| t.slots[i].id)
            .collect();
        (ids, total)
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

impl CustomerTree for CustomerIndex {
    fn is_within(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        ancestor: CustomerId,
        strict: bool,
    ) -> bool {
        let tenants = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
        let Some(t) = tenants.get(&tenant) else {
            return false;
        };
        // A customer the tenant doesn't have is within nothing.
        t.entries.contains_key(&customer)
            && within(
                |c| t.entries.get(&c).and_then(|e| e.parent),
                customer,
                ancestor,
                strict,
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::customer::CustomerInput;
    use crate::domain::page::PageLink;

    fn customer(tenant: TenantId, title: &str, created: i64) -> Customer {
        let input = CustomerInput {
            title: Some(title.into()),
            ..Default::default()
        };
        Customer::create(tenant, None, input, created)
    }

    /// Random creates, renames and deletes, checked against a plain filter
    /// and sort after every step (compaction included: most rows die).
    #[test]
    fn searches_match_a_naive_model_through_renames_deletes_and_compaction() {
        let tenant = TenantId::new();
        let index = CustomerIndex::default();
        let with = |f: &mut dyn FnMut(&mut TenantCustomers)| {
            f(index.tenants.write().unwrap().entry(tenant).or_default());
        };
        let mut model: HashMap<CustomerId, Customer> = HashMap::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let words = [
            "Acme",
            "acme labs",
            "Globex",
            "Initech",
            "Umbrella",
            "ÄCME Ünited",
        ];
        for step in 0..6000i64 {
            let roll = next() % 10;
            let ids: Vec<CustomerId> = model.keys().copied().collect();
            if roll < 5 || ids.is_empty() {
                let title = format!("{} {}", words[(next() % 6) as usize], next() % 500);
                let c = customer(tenant, &title, step);
                with(&mut |t| t.upsert(&c));
                model.insert(c.id, c);
            } else if roll < 7 {
                let id = ids[(next() as usize) % ids.len()];
                let mut c = model[&id].clone();
                c.title = format!("{} renamed {}", words[(next() % 6) as usize], step);
                with(&mut |t| t.upsert(&c));
                model.insert(id, c);
            } else {
                let id = ids[(next() as usize) % ids.len()];
                with(&mut |t| t.remove(id));
                model.remove(&id);
            }
            if step % 500 == 0 || step > 5990 {
                for needle in ["acme", "cme u", "renamed 5", "zzz", "1"] {
                    let link =
                        PageLink::parse(Some("7"), Some("1"), Some(needle), Some("title"), None)
                            .unwrap();
                    let (page, total) = index.page(tenant, &link);
                    let mut expected: Vec<&Customer> = model
                        .values()
                        .filter(|c| c.title.to_lowercase().contains(needle))
                        .collect();
                    expected.sort_by(|a, b| {
                        a.title
                            .to_lowercase()
                            .cmp(&b.title.to_lowercase())
                            .then(a.id.cmp(&b.id))
                    });
                    assert_eq!(total, expected.len(), "step {step} needle {needle}");
                    let want: Vec<CustomerId> =
                        expected.iter().skip(7).take(7).map(|c| c.id).collect();
                    assert_eq!(page, want, "step {step} needle {needle}");
                }
            }
        }
        let slots = index.tenants.read().unwrap()[&tenant].slots.len();
        assert!(
            slots < 2 * model.len() + 1100,
            "dead slots are compacted away"
        );
    }

    #[test]
    fn a_page_among_some_customers_counts_sorts_and_pages_only_those() {
        let tenant = TenantId::new();
        let index = CustomerIndex::default();
        let all: Vec<Customer> = (0..10)
            .map(|i| customer(tenant, &format!("C{i}"), 100 - i))
            .collect();
        {
            let mut tenants = index.tenants.write().unwrap();
            let t = tenants.entry(tenant).or_default();
            all.iter().for_each(|c| t.upsert(c));
        }
        let among: HashSet<CustomerId> = [1, 4, 7, 8].iter().map(|&i| all[i].id).collect();
        // Unfiltered by text and sorted by creation time: the fast path
        // that walks every customer must not be taken.
        let by_created = PageLink::parse(Some("3"), Some("0"), None, None, None).unwrap();
        let (page, total) = index.page_among(tenant, &by_created, Some(&among));
        assert_eq!(total, 4);
        assert_eq!(page, vec![all[8].id, all[7].id, all[4].id]);
        let searched =
            PageLink::parse(Some("10"), Some("0"), Some("c1"), Some("title"), None).unwrap();
        let (page, total) = index.page_among(tenant, &searched, Some(&among));
        assert_eq!((page, total), (vec![all[1].id], 1));
        assert_eq!(index.page(tenant, &by_created).1, 10);
    }
}
