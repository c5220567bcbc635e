//! `apply` for the objects at a path of their own and for the first index: read, then create what
//! is missing, update what differs, leave what is equal.

use serde_json::json;

use super::client::{Api, Target};
use super::error::BootstrapError;
use super::ism;
use super::report::Action;
use super::resource::first_index::FirstIndex;
use super::resource::object::{Found, Object, ObjectKind, Verb};
use super::session::Session;

/// Reconciles one object at a path of its own.
pub async fn object<A: Api>(cx: &mut Session<'_, A>, o: &Object) -> Result<(), BootstrapError> {
    let label = o.kind.label();
    let mut read = cx.get(Target::Cluster, &o.path).await?;
    if o.found(&read) == Found::Missing {
        let create = o.create();
        let path = create.path.clone();
        let created = cx.send(Target::Cluster, create, o.dry_created()).await?;
        if created.ok() {
            let mut note = o.created_note.clone();
            if o.kind == ObjectKind::IsmPolicy
                && let n @ 1.. = ism::after_create(cx, o).await?
            {
                note = format!("added to {n} existing index(es) no policy managed");
            }
            cx.outcome(label, &o.name, Action::Created, note);
            return Ok(());
        }
        if created.status != 409 {
            return Err(cx.fail(&o.doing(Verb::Create), &path, &created));
        }
        // 409: it exists after all (a retried create whose first answer was lost, or someone
        // made it since the read): read it again and compare it like any object found.
        read = cx.get(Target::Cluster, &o.path).await?;
    }
    match o.found(&read) {
        Found::Live(live) if o.same(&live) => cx.outcome(label, &o.name, Action::Unchanged, &o.unchanged_note),
        Found::Live(live) => {
            o.updatable(&live).map_err(BootstrapError::Precondition)?;
            let mut detail = o.differences(&live);
            cx.write(Target::Cluster, o.update(&read), json!({})).await?;
            if o.kind == ObjectKind::IsmPolicy {
                let n = ism::after_update(cx, o).await?;
                detail = format!("{detail}; {n} managed index(es) moved to the new version");
            }
            cx.outcome(label, &o.name, Action::Updated, detail);
        }
        Found::Missing | Found::Unreadable => return Err(cx.fail(&o.doing(Verb::Read), &o.path, &read)),
    }
    Ok(())
}

/// Makes sure the write alias exists: creates the first index with it, or adds it to a first index
/// that exists without it; refuses when an index is named like the alias.
pub async fn first_index<A: Api>(cx: &mut Session<'_, A>, i: &FirstIndex) -> Result<(), BootstrapError> {
    let live = cx.get(Target::Cluster, &i.alias_path()).await?;
    match live.status {
        200 => {
            let behind = live.body.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "));
            cx.outcome("write alias", &i.alias, Action::Unchanged, behind.unwrap_or_default());
        }
        404 => create_first_index(cx, i).await?,
        _ => return Err(cx.fail(&format!("reading alias {}", i.alias), "/_alias", &live)),
    }
    Ok(())
}

async fn create_first_index<A: Api>(cx: &mut Session<'_, A>, i: &FirstIndex) -> Result<(), BootstrapError> {
    let concrete = cx.get(Target::Cluster, &i.concrete_path()).await?;
    if concrete.ok() {
        return Err(BootstrapError::Precondition(format!(
            "an index named {alias} exists, where the write alias {alias} belongs (Firehose probably wrote before the bootstrap \
             and created it with a dynamic mapping): reindex its documents into {} and delete it, then apply again",
            i.name,
            alias = i.alias,
        )));
    }
    let create = i.create();
    let path = create.path.clone();
    let created = cx.send(Target::Cluster, create.doing("creating the first index"), json!({})).await?;
    if created.ok() {
        cx.outcome("index", &i.name, Action::Created, format!("write index of {}", i.alias));
    } else if created.error_type() == Some("resource_already_exists_exception") {
        // The index exists without the alias (an earlier apply stopped halfway): add it.
        cx.write(Target::Cluster, i.add_alias(), json!({})).await?;
        cx.outcome("write alias", &i.alias, Action::Updated, format!("added to {}", i.name));
    } else {
        return Err(cx.fail(&format!("creating index {}", i.name), &path, &created));
    }
    Ok(())
}
