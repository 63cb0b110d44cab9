/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-status.c: the status struct, its JSON both ways and its text (see
 * kv-status.h). */
#include "kv-status.h"

#include "kv-act.h"
#include "kv-escape.h"
#include "kv-json.h"
#include "kv-table.h"

/* The KSM knobs and counters the status shows. */
static const KvKsmKnob shown_knobs[] = {
	KV_KSM_RUN,
	KV_KSM_PAGES_TO_SCAN,
	KV_KSM_SLEEP_MILLISECS,
	KV_KSM_PAGES_SHARED,
	KV_KSM_PAGES_SHARING,
	KV_KSM_PAGES_UNSHARED,
	KV_KSM_FULL_SCANS,
	KV_KSM_ZERO_PAGES,
	KV_KSM_MERGE_ACROSS_NODES,
	KV_KSM_ADVISOR_MAX_CPU,
};

static void
guest_free(KvStatusGuest *g)
{
	if (!g)
		return;
	g_free(g->name);
	g_free(g->uuid);
	g_free(g->group);
	g_free(g->merge);
	if (g->node_kib)
		g_array_unref(g->node_kib);
	g_free(g->floor_source);
	g_free(g->cg_dir);
	g_free(g);
}

static void
decision_free(KvStatusDecision *d)
{
	if (!d)
		return;
	g_free(d->policy);
	g_free(d->decision);
	g_free(d->reason);
	g_free(d);
}

static void
action_free(KvStatusAction *a)
{
	if (!a)
		return;
	g_free(a->policy);
	g_free(a->description);
	g_free(a->knob);
	g_free(a->guest);
	g_free(a->value_str);
	g_free(a->result);
	g_free(a->error);
	g_free(a);
}

KvStatus *
kv_status_new(void)
{
	KvStatus *st = g_new0(KvStatus, 1);

	st->nodes = g_array_new(FALSE, TRUE, sizeof(KvStatusNode));
	st->guests = g_ptr_array_new_with_free_func((GDestroyNotify)guest_free);
	st->decisions = g_ptr_array_new_with_free_func((GDestroyNotify)decision_free);
	st->actions = g_ptr_array_new_with_free_func((GDestroyNotify)action_free);
	st->recent_actions = g_ptr_array_new_with_free_func(g_free);
	st->notes = g_ptr_array_new_with_free_func(g_free);
	return st;
}

void
kv_status_free(KvStatus *st)
{
	if (!st)
		return;
	g_free(st->libvirt_error);
	g_array_unref(st->nodes);
	kv_ksm_free(st->ksm);
	g_ptr_array_unref(st->guests);
	g_ptr_array_unref(st->decisions);
	g_ptr_array_unref(st->actions);
	g_ptr_array_unref(st->recent_actions);
	g_ptr_array_unref(st->notes);
	g_free(st);
}

void
kv_status_set_plan(KvStatus *st, const KvPlan *p)
{
	g_ptr_array_set_size(st->decisions, 0);
	g_ptr_array_set_size(st->actions, 0);
	for (guint i = 0; p && i < p->summaries->len; i++) {
		const KvSummary *s = g_ptr_array_index(p->summaries, i);
		KvStatusDecision *d = g_new0(KvStatusDecision, 1);

		d->policy = g_strdup(s->policy);
		d->decision = g_strdup(s->decision);
		d->reason = g_strdup(s->reason);
		g_ptr_array_add(st->decisions, d);
	}
	for (guint i = 0; p && i < p->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(p->actions, i);
		KvStatusAction *sa = g_new0(KvStatusAction, 1);

		sa->policy = g_strdup(a->policy);
		sa->description = kv_action_describe(a);
		if (a->kind == KV_ACTION_KSM_KNOB)
			sa->knob = g_strdup(kv_ksm_knob_name(a->knob));
		sa->guest = g_strdup(a->guest);
		sa->value_str = g_strdup(a->value_str);
		sa->value = a->value;
		sa->old_value = a->old_value;
		sa->result = g_strdup(kv_action_result_to_string(a->result));
		sa->error = g_strdup(a->error);
		g_ptr_array_add(st->actions, sa);
	}
}

/* JSON. */

static void
add_decisions(JsonBuilder *jb, const GPtrArray *decisions, const GPtrArray *actions)
{
	json_builder_set_member_name(jb, "decisions");
	json_builder_begin_array(jb);
	for (guint i = 0; i < decisions->len; i++) {
		const KvStatusDecision *d = g_ptr_array_index(decisions, i);

		json_builder_begin_object(jb);
		kv_json_str(jb, "policy", d->policy);
		kv_json_str(jb, "decision", d->decision);
		kv_json_str(jb, "reason", d->reason);
		json_builder_end_object(jb);
	}
	json_builder_end_array(jb);
	json_builder_set_member_name(jb, "actions");
	json_builder_begin_array(jb);
	for (guint i = 0; i < actions->len; i++) {
		const KvStatusAction *a = g_ptr_array_index(actions, i);

		json_builder_begin_object(jb);
		kv_json_str(jb, "policy", a->policy);
		kv_json_str(jb, "description", a->description);
		if (a->knob)
			kv_json_str(jb, "knob", a->knob);
		if (a->guest)
			kv_json_str(jb, "guest", a->guest);
		if (a->value_str)
			kv_json_str(jb, "value", a->value_str);
		else
			kv_json_u64(jb, "value", a->value);
		kv_json_u64(jb, "old_value", a->old_value);
		kv_json_str(jb, "result", a->result);
		if (a->error)
			kv_json_str(jb, "error", a->error);
		json_builder_end_object(jb);
	}
	json_builder_end_array(jb);
}

void
kv_status_add_plan(JsonBuilder *jb, const KvPlan *plan)
{
	g_autoptr(KvStatus) st = kv_status_new();

	kv_status_set_plan(st, plan);
	add_decisions(jb, st->decisions, st->actions);
}

static void
add_host(JsonBuilder *jb, const KvStatus *st)
{
	json_builder_set_member_name(jb, "host");
	json_builder_begin_object(jb);
	if (st->sensed) {
		kv_json_u64(jb, "mem_total_kib", st->mem_total_kib);
		kv_json_u64(jb, "mem_available_kib", st->mem_available_kib);
		kv_json_u64(jb, "swap_total_kib", st->swap_total_kib);
		kv_json_u64(jb, "swap_free_kib", st->swap_free_kib);
		if (st->have_psi) {
			kv_json_double(jb, "psi_some_avg10", st->psi_some_avg10);
			kv_json_double(jb, "psi_full_avg10", st->psi_full_avg10);
		}
		kv_json_u64(jb, "numa_nodes", st->numa_nodes);
		json_builder_set_member_name(jb, "nodes");
		json_builder_begin_array(jb);
		for (guint i = 0; i < st->nodes->len; i++) {
			const KvStatusNode *n = &g_array_index(st->nodes, KvStatusNode, i);

			json_builder_begin_object(jb);
			kv_json_i64(jb, "id", n->id);
			kv_json_u64(jb, "mem_total_kib", n->mem_total_kib);
			kv_json_u64(jb, "mem_free_kib", n->mem_free_kib);
			kv_json_bool(jb, "under_pressure", n->under_pressure);
			json_builder_end_object(jb);
		}
		json_builder_end_array(jb);
		if (st->have_ksmd_cpu)
			kv_json_double(jb, "ksmd_cpu_s", st->ksmd_cpu_s);
		if (st->have_merged_delta)
			kv_json_i64(jb, "merged_delta_pages", st->merged_delta_pages);
	}
	if (st->have_gain)
		kv_json_double(jb, "gain_pages_per_cpu_s", st->gain_pages_per_cpu_s);
	kv_json_bool(jb, "ksm_active", st->ksm_active);
	kv_json_bool(jb, "backed_off", st->backed_off);
	json_builder_end_object(jb);
}

static void
add_ksm(JsonBuilder *jb, const KvKsm *ksm)
{
	json_builder_set_member_name(jb, "ksm");
	if (!ksm) {
		json_builder_add_null_value(jb);
		return;
	}
	json_builder_begin_object(jb);
	for (guint i = 0; i < G_N_ELEMENTS(shown_knobs); i++)
		if (kv_ksm_has(ksm, shown_knobs[i]))
			kv_json_u64(jb, kv_ksm_knob_name(shown_knobs[i]), ksm->value[shown_knobs[i]]);
	if (ksm->advisor_mode)
		kv_json_str(jb, "advisor_mode", ksm->advisor_mode);
	json_builder_end_object(jb);
}

static void
add_guest(JsonBuilder *jb, const KvStatusGuest *g)
{
	json_builder_begin_object(jb);
	kv_json_str(jb, "name", g->name);
	kv_json_str(jb, "uuid", g->uuid);
	kv_json_i64(jb, "pid", g->pid);
	kv_json_u64(jb, "ram_kib", g->ram_kib);
	kv_json_u64(jb, "rss_kib", g->rss_kib);
	kv_json_u64(jb, "swap_kib", g->swap_kib);
	kv_json_u64(jb, "merging_pages", g->merging_pages);
	kv_json_i64(jb, "priority", g->priority);
	if (g->group)
		kv_json_str(jb, "group", g->group);
	if (g->merge)
		kv_json_str(jb, "merge", g->merge);
	if (g->node_kib) {
		json_builder_set_member_name(jb, "node_kib");
		json_builder_begin_object(jb);
		for (guint j = 0; j < g->node_kib->len; j++) {
			const KvGuestNodeKib *nk = &g_array_index(g->node_kib, KvGuestNodeKib, j);
			g_autofree char *id = g_strdup_printf("%d", nk->node);

			kv_json_u64(jb, id, nk->kib);
		}
		json_builder_end_object(jb);
	}
	if (g->has_balloon) {
		json_builder_set_member_name(jb, "balloon");
		json_builder_begin_object(jb);
		kv_json_u64(jb, "actual_kib", g->balloon_actual_kib);
		kv_json_u64(jb, "maximum_kib", g->balloon_max_kib);
		kv_json_bool(jb, "driver", g->balloon_driver);
		if (g->balloon_driver) {
			kv_json_u64(jb, "unused_kib", g->balloon_unused_kib);
			kv_json_u64(jb, "available_kib", g->balloon_available_kib);
		}
		kv_json_u64(jb, "floor_kib", g->balloon_floor_kib);
		kv_json_str(jb, "floor_source", g->floor_source);
		json_builder_end_object(jb);
	}
	if (g->has_cgroup) {
		json_builder_set_member_name(jb, "cgroup");
		json_builder_begin_object(jb);
		kv_json_u64(jb, "version", (guint64)g->cg_version);
		kv_json_str(jb, "dir", g->cg_dir);
		kv_json_i64(jb, "limit_bytes", g->cg_limit_bytes);
		kv_json_u64(jb, "usage_bytes", g->cg_usage_bytes);
		json_builder_end_object(jb);
	}
	json_builder_end_object(jb);
}

static void
add_strings(JsonBuilder *jb, const char *name, const GPtrArray *strings)
{
	json_builder_set_member_name(jb, name);
	json_builder_begin_array(jb);
	for (guint i = 0; i < strings->len; i++)
		json_builder_add_string_value(jb, g_ptr_array_index(strings, i));
	json_builder_end_array(jb);
}

char *
kv_status_to_json(const KvStatus *st)
{
	g_autoptr(JsonBuilder) jb = json_builder_new();
	g_autofree char *text = NULL;

	json_builder_begin_object(jb);
	kv_json_str(jb, "schema", KV_STATUS_SCHEMA);
	kv_json_u64(jb, "tick", st->tick);
	kv_json_double(jb, "time", st->time_s);
	kv_json_u64(jb, "tick_ms", st->tick_ms);
	kv_json_bool(jb, "dry_run", st->dry_run);
	kv_json_bool(jb, "libvirt", st->libvirt);
	if (st->libvirt_error) {
		kv_json_str(jb, "libvirt_error", st->libvirt_error);
		kv_json_double(jb, "libvirt_down_since", st->libvirt_down_since_s);
	}
	kv_json_u64(jb, "libvirt_reconnects", st->libvirt_reconnects);
	add_host(jb, st);
	add_ksm(jb, st->ksm);
	json_builder_set_member_name(jb, "guests");
	json_builder_begin_array(jb);
	for (guint i = 0; i < st->guests->len; i++)
		add_guest(jb, g_ptr_array_index(st->guests, i));
	json_builder_end_array(jb);
	add_decisions(jb, st->decisions, st->actions);
	add_strings(jb, "recent_actions", st->recent_actions);
	add_strings(jb, "notes", st->notes);
	json_builder_end_object(jb);
	text = kv_json_to_string(jb, TRUE);
	/* Guest names from QEMU's command line may be any bytes. */
	return kv_escape_json_text(text);
}

/* Reading a document back: what a client gets from the socket.  Every
 * member may be missing or of another type. */

static guint64
get_u64(JsonObject *o, const char *name)
{
	gint64 v = kv_json_get_int(o, name, 0);

	return v < 0 ? 0 : (guint64)v;
}

static void
read_host(KvStatus *st, JsonObject *host)
{
	JsonArray *nodes = kv_json_get_array(host, "nodes");

	st->have_host = host != NULL;
	st->sensed = host && json_object_has_member(host, "mem_total_kib");
	st->mem_total_kib = get_u64(host, "mem_total_kib");
	st->mem_available_kib = get_u64(host, "mem_available_kib");
	st->swap_total_kib = get_u64(host, "swap_total_kib");
	st->swap_free_kib = get_u64(host, "swap_free_kib");
	st->have_psi = host && json_object_has_member(host, "psi_some_avg10");
	st->psi_some_avg10 = kv_json_get_double(host, "psi_some_avg10", 0);
	st->psi_full_avg10 = kv_json_get_double(host, "psi_full_avg10", 0);
	st->numa_nodes = get_u64(host, "numa_nodes");
	for (guint i = 0; nodes && i < json_array_get_length(nodes); i++) {
		JsonObject *n = kv_json_array_object(nodes, i);
		KvStatusNode node = {
			.id = kv_json_get_int(n, "id", -1),
			.mem_total_kib = get_u64(n, "mem_total_kib"),
			.mem_free_kib = get_u64(n, "mem_free_kib"),
			.under_pressure = kv_json_get_bool(n, "under_pressure", FALSE),
		};

		g_array_append_val(st->nodes, node);
	}
	st->have_ksmd_cpu = host && json_object_has_member(host, "ksmd_cpu_s");
	st->ksmd_cpu_s = kv_json_get_double(host, "ksmd_cpu_s", 0);
	st->have_merged_delta = host && json_object_has_member(host, "merged_delta_pages");
	st->merged_delta_pages = kv_json_get_int(host, "merged_delta_pages", 0);
	st->have_gain = host && json_object_has_member(host, "gain_pages_per_cpu_s");
	st->gain_pages_per_cpu_s = kv_json_get_double(host, "gain_pages_per_cpu_s", 0);
	st->ksm_active = kv_json_get_bool(host, "ksm_active", FALSE);
	st->backed_off = kv_json_get_bool(host, "backed_off", FALSE);
}

static KvKsm *
read_ksm(JsonObject *o)
{
	KvKsm *ksm;

	if (!o)
		return NULL;
	ksm = g_new0(KvKsm, 1);
	for (guint i = 0; i < G_N_ELEMENTS(shown_knobs); i++) {
		const char *name = kv_ksm_knob_name(shown_knobs[i]);
		gint64 v = kv_json_get_int(o, name, -1);

		if (v == -1 && kv_json_get_int(o, name, 0) != -1)
			continue; /* absent */
		ksm->value[shown_knobs[i]] = (guint64)v;
		ksm->have |= G_GUINT64_CONSTANT(1) << shown_knobs[i];
	}
	ksm->advisor_mode = g_strdup(kv_json_get_str(o, "advisor_mode", NULL));
	return ksm;
}

static KvStatusGuest *
read_guest(JsonObject *o)
{
	KvStatusGuest *g = g_new0(KvStatusGuest, 1);
	JsonObject *bal = kv_json_get_object(o, "balloon"), *cg = kv_json_get_object(o, "cgroup");
	JsonObject *nk = kv_json_get_object(o, "node_kib");

	g->name = g_strdup(kv_json_get_str(o, "name", NULL));
	g->uuid = g_strdup(kv_json_get_str(o, "uuid", NULL));
	g->pid = kv_json_get_int(o, "pid", 0);
	g->ram_kib = get_u64(o, "ram_kib");
	g->rss_kib = get_u64(o, "rss_kib");
	g->swap_kib = get_u64(o, "swap_kib");
	g->merging_pages = get_u64(o, "merging_pages");
	g->priority = kv_json_get_int(o, "priority", 0);
	g->group = g_strdup(kv_json_get_str(o, "group", NULL));
	g->merge = g_strdup(kv_json_get_str(o, "merge", NULL));
	if (nk) {
		g_autoptr(GList) ids = json_object_get_members(nk);

		g->node_kib = g_array_new(FALSE, TRUE, sizeof(KvGuestNodeKib));
		for (GList *l = ids; l; l = l->next) {
			KvGuestNodeKib e = { .node = (int)g_ascii_strtoll(l->data, NULL, 10),
					     .kib = get_u64(nk, l->data) };

			g_array_append_val(g->node_kib, e);
		}
	}
	g->has_balloon = bal != NULL;
	g->balloon_actual_kib = get_u64(bal, "actual_kib");
	g->balloon_max_kib = get_u64(bal, "maximum_kib");
	g->balloon_driver = kv_json_get_bool(bal, "driver", FALSE);
	g->balloon_unused_kib = get_u64(bal, "unused_kib");
	g->balloon_available_kib = get_u64(bal, "available_kib");
	g->balloon_floor_kib = get_u64(bal, "floor_kib");
	g->floor_source = g_strdup(kv_json_get_str(bal, "floor_source", NULL));
	g->has_cgroup = cg != NULL;
	g->cg_version = kv_json_get_int(cg, "version", 0);
	g->cg_dir = g_strdup(kv_json_get_str(cg, "dir", NULL));
	g->cg_limit_bytes = kv_json_get_int(cg, "limit_bytes", -1);
	g->cg_usage_bytes = get_u64(cg, "usage_bytes");
	return g;
}

static void
read_plan(KvStatus *st, JsonObject *o)
{
	JsonArray *dec = kv_json_get_array(o, "decisions"), *acts = kv_json_get_array(o, "actions");

	for (guint i = 0; dec && i < json_array_get_length(dec); i++) {
		JsonObject *d = kv_json_array_object(dec, i);
		KvStatusDecision *sd = g_new0(KvStatusDecision, 1);

		sd->policy = g_strdup(kv_json_get_str(d, "policy", NULL));
		sd->decision = g_strdup(kv_json_get_str(d, "decision", NULL));
		sd->reason = g_strdup(kv_json_get_str(d, "reason", NULL));
		g_ptr_array_add(st->decisions, sd);
	}
	for (guint i = 0; acts && i < json_array_get_length(acts); i++) {
		JsonObject *a = kv_json_array_object(acts, i);
		KvStatusAction *sa = g_new0(KvStatusAction, 1);

		sa->policy = g_strdup(kv_json_get_str(a, "policy", NULL));
		sa->description = g_strdup(kv_json_get_str(a, "description", NULL));
		sa->knob = g_strdup(kv_json_get_str(a, "knob", NULL));
		sa->guest = g_strdup(kv_json_get_str(a, "guest", NULL));
		sa->value_str = g_strdup(kv_json_get_str(a, "value", NULL));
		sa->value = get_u64(a, "value");
		sa->old_value = get_u64(a, "old_value");
		sa->result = g_strdup(kv_json_get_str(a, "result", NULL));
		sa->error = g_strdup(kv_json_get_str(a, "error", NULL));
		g_ptr_array_add(st->actions, sa);
	}
}

static void
read_strings(GPtrArray *out, JsonObject *o, const char *name)
{
	JsonArray *a = kv_json_get_array(o, name);

	for (guint i = 0; a && i < json_array_get_length(a); i++)
		g_ptr_array_add(out, g_strdup(kv_json_array_str(a, i)));
}

KvStatus *
kv_status_from_json(const char *json, GError **error)
{
	g_autofree char *valid = kv_escape_json_text(json);
	g_autoptr(JsonNode) root = kv_json_parse(valid, -1, 0, 0, error);
	g_autoptr(KvStatus) st = NULL;
	JsonArray *guests;
	JsonObject *o;

	if (!root)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(root) ||
	    g_strcmp0(kv_json_get_str(json_node_get_object(root), "schema", NULL), KV_STATUS_SCHEMA) != 0) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "not a %s document", KV_STATUS_SCHEMA);
		return NULL;
	}
	o = json_node_get_object(root);
	st = kv_status_new();
	st->tick = get_u64(o, "tick");
	st->time_s = kv_json_get_double(o, "time", 0);
	st->tick_ms = get_u64(o, "tick_ms");
	st->dry_run = kv_json_get_bool(o, "dry_run", FALSE);
	st->libvirt = kv_json_get_bool(o, "libvirt", FALSE);
	st->libvirt_error = g_strdup(kv_json_get_str(o, "libvirt_error", NULL));
	st->libvirt_down_since_s = kv_json_get_double(o, "libvirt_down_since", 0);
	st->libvirt_reconnects = get_u64(o, "libvirt_reconnects");
	read_host(st, kv_json_get_object(o, "host"));
	st->ksm = read_ksm(kv_json_get_object(o, "ksm"));
	guests = kv_json_get_array(o, "guests");
	for (guint i = 0; guests && i < json_array_get_length(guests); i++)
		g_ptr_array_add(st->guests, read_guest(kv_json_array_object(guests, i)));
	read_plan(st, o);
	read_strings(st->recent_actions, o, "recent_actions");
	read_strings(st->notes, o, "notes");
	return g_steal_pointer(&st);
}

/* Text. */

static gint64
ksm_value(const KvKsm *ksm, KvKsmKnob knob)
{
	return kv_ksm_has(ksm, knob) ? (gint64)ksm->value[knob] : -1;
}

static void
render_head(GString *t, const KvStatus *st)
{
	g_string_append_printf(t, "tick %" G_GUINT64_FORMAT " every %.1f s%s%s", st->tick, st->tick_ms / 1000.0,
			       st->dry_run ? ", dry run" : "", st->libvirt ? ", libvirt connected" : "");
	if (st->libvirt_error) {
		g_autofree char *why = kv_escape_term(st->libvirt_error);

		g_string_append_printf(t, ", libvirt disconnected for %.0f s: %s",
				       MAX(0.0, st->time_s - st->libvirt_down_since_s), why);
	}
	g_string_append_c(t, '\n');
	if (st->have_host) {
		g_string_append_printf(t, "host: MemAvailable %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " MiB",
				       st->mem_available_kib / 1024, st->mem_total_kib / 1024);
		if (st->have_psi)
			g_string_append_printf(t, ", PSI some %.1f%% full %.1f%%", st->psi_some_avg10,
					       st->psi_full_avg10);
		if (st->have_gain)
			g_string_append_printf(t, ", KSM gain %.0f pages/CPU-s", st->gain_pages_per_cpu_s);
		g_string_append_c(t, '\n');
		for (guint i = 0; st->nodes->len > 1 && i < st->nodes->len; i++) {
			const KvStatusNode *n = &g_array_index(st->nodes, KvStatusNode, i);

			g_string_append_printf(t, "%snode %" G_GINT64_FORMAT " %.0f%% free%s",
					       i ? ", " : "nodes: ", n->id,
					       n->mem_total_kib > 0
						       ? 100.0 * (double)n->mem_free_kib / (double)n->mem_total_kib
						       : 0.0,
					       n->under_pressure ? " (under pressure)" : "");
		}
		if (st->nodes->len > 1)
			g_string_append_c(t, '\n');
	}
	if (st->ksm)
		g_string_append_printf(t,
				       "ksm: run %" G_GINT64_FORMAT ", pages_to_scan %" G_GINT64_FORMAT
				       ", sleep %" G_GINT64_FORMAT " ms, shared %" G_GINT64_FORMAT
				       ", sharing %" G_GINT64_FORMAT ", merge_across_nodes %" G_GINT64_FORMAT
				       "\n",
				       ksm_value(st->ksm, KV_KSM_RUN), ksm_value(st->ksm, KV_KSM_PAGES_TO_SCAN),
				       ksm_value(st->ksm, KV_KSM_SLEEP_MILLISECS),
				       ksm_value(st->ksm, KV_KSM_PAGES_SHARED),
				       ksm_value(st->ksm, KV_KSM_PAGES_SHARING),
				       ksm_value(st->ksm, KV_KSM_MERGE_ACROSS_NODES));
}

static void
render_guests(GString *t, const KvStatus *st)
{
	static const guint min_widths[] = { 24, 7, 9, 9, 9, 5, 11, 11, 1, 1 };
	g_autoptr(KvTable) tab = kv_table_new(10, "lrrrrrrrll");

	kv_table_set_layout(tab, 1, min_widths);
	kv_table_add_rowv(tab, "GUEST", "PID", "RAM MiB", "RSS MiB", "MERGED", "PRIO", "BALLOON MiB",
			  "LIMIT MiB", "GROUP", "MERGE");
	for (guint i = 0; i < st->guests->len; i++) {
		const KvStatusGuest *g = g_ptr_array_index(st->guests, i);
		g_autofree char *pid = g_strdup_printf("%" G_GINT64_FORMAT, g->pid);
		g_autofree char *ram = g_strdup_printf("%" G_GUINT64_FORMAT, g->ram_kib / 1024);
		g_autofree char *rss = g_strdup_printf("%" G_GUINT64_FORMAT, g->rss_kib / 1024);
		g_autofree char *merged = g_strdup_printf("%" G_GUINT64_FORMAT, g->merging_pages);
		g_autofree char *prio = g_strdup_printf("%" G_GINT64_FORMAT, g->priority);
		g_autofree char *bal = g->has_balloon ? g_strdup_printf("%" G_GUINT64_FORMAT "%s",
									g->balloon_actual_kib / 1024,
									g->balloon_driver ? "" : "*")
						      : g_strdup("-");
		g_autofree char *limit = !g->has_cgroup ? g_strdup("-")
					 : g->cg_limit_bytes < 0
						 ? g_strdup("max")
						 : g_strdup_printf("%" G_GINT64_FORMAT, g->cg_limit_bytes >> 20);

		kv_table_add_rowv(tab, g->name ? g->name : "?", pid, ram, rss, merged, prio, bal, limit,
				  g->group ? g->group : "-", g->merge ? g->merge : "-");
	}
	g_string_append_c(t, '\n');
	kv_table_render(tab, 0, t);
	if (st->guests->len == 0)
		g_string_append(t, "(no guests)\n");
}

static void
render_plan(GString *t, const KvStatus *st)
{
	static const guint min_widths[] = { 8, 12, 0 };
	g_autoptr(KvTable) tab = kv_table_new(3, "lll");

	kv_table_set_layout(tab, 1, min_widths);
	for (guint i = 0; i < st->decisions->len; i++) {
		const KvStatusDecision *d = g_ptr_array_index(st->decisions, i);

		kv_table_add_rowv(tab, d->policy ? d->policy : "", d->decision ? d->decision : "",
				  d->reason ? d->reason : "");
	}
	g_string_append(t, "\nDecisions:\n");
	kv_table_render(tab, 2, t);
	g_string_append(t, "\nActions:\n");
	for (guint i = 0; i < st->actions->len; i++) {
		const KvStatusAction *a = g_ptr_array_index(st->actions, i);
		g_autofree char *result = kv_escape_term(a->result);
		g_autofree char *what = kv_escape_term(a->description);
		g_autofree char *why = kv_escape_term(a->error);

		g_string_append_printf(t, "  [%s] %s%s%s\n", result, what, a->error ? ": " : "", why);
	}
	if (st->actions->len == 0)
		g_string_append(t, "  (none: every knob already has the wanted value)\n");
}

char *
kv_status_render(const KvStatus *st)
{
	GString *t = g_string_new(NULL);
	guint n = st->recent_actions->len;

	render_head(t, st);
	render_guests(t, st);
	render_plan(t, st);
	if (n > 0) {
		g_string_append(t, "\nRecent changes:\n");
		for (guint i = n > 10 ? n - 10 : 0; i < n; i++) {
			g_autofree char *line = kv_escape_term(g_ptr_array_index(st->recent_actions, i));

			g_string_append_printf(t, "  %s\n", line);
		}
	}
	for (guint i = 0; i < st->notes->len; i++) {
		g_autofree char *note = kv_escape_term(g_ptr_array_index(st->notes, i));

		g_string_append_printf(t, "note: %s\n", note);
	}
	return g_string_free(t, FALSE);
}

char *
kv_status_render_text(const char *json, GError **error)
{
	g_autoptr(KvStatus) st = kv_status_from_json(json, error);

	return st ? kv_status_render(st) : NULL;
}
