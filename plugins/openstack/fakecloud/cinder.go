package fakecloud

import (
	"fmt"
	"net/http"
	"strconv"
)

func handleVolume(c *Cloud, x *exchange) {
	host := "http://" + x.r.Host
	v3 := map[string]any{"id": "v3.0", "status": "CURRENT", "version": "3.71", "min_version": "3.0", "updated": "2023-08-31T00:00:00Z",
		"links": []any{map[string]any{"rel": "self", "href": host + "/volume/v3/"}}}
	switch {
	case len(x.path) == 0, len(x.path) == 1 && x.path[0] == "v3":
		x.json(http.StatusOK, map[string]any{"versions": []any{v3}})
		return
	case !x.trim("v3", true):
		x.fail(novaErrors, http.StatusNotFound, "The resource could not be found.")
		return
	}
	if !c.authorized(x) {
		return
	}
	volumes := resource{col: "volumes", path: "volumes", singular: "volume", plural: "volumes", detail: true, errs: novaErrors,
		createStatus: http.StatusAccepted, deleteStatus: http.StatusAccepted,
		create: func(o map[string]any) {
			for k, v := range map[string]any{"status": "available", "bootable": "false", "attachments": []any{}, "volume_type": "lvmdriver-1",
				"availability_zone": "nova", "encrypted": false, "multiattach": false, "metadata": map[string]any{}, "description": nil,
				"snapshot_id": nil, "source_volid": nil, "name": nil, "replication_status": nil} {
				setDefault(o, k, v)
			}
			o["created_at"], o["updated_at"], o["user_id"], o["os-vol-tenant-attr:tenant_id"] = now(), now(), UserID, ProjectID
		},
		brief: func(o map[string]any) map[string]any {
			return map[string]any{"id": o["id"], "name": o["name"], "links": []any{}}
		}}
	if _, ok := x.match("POST", "snapshots"); ok && x.st.get("volumes", fmt.Sprint(x.member("snapshot")["volume_id"])) == nil {
		x.fail(novaErrors, http.StatusNotFound, fmt.Sprintf("Volume %v could not be found.", x.member("snapshot")["volume_id"]))
		return
	}
	snapshots := resource{col: "snapshots", path: "snapshots", singular: "snapshot", plural: "snapshots", detail: true, errs: novaErrors,
		createStatus: http.StatusAccepted, deleteStatus: http.StatusAccepted,
		create: func(o map[string]any) {
			setDefault(o, "metadata", map[string]any{})
			vol := x.st.get("volumes", fmt.Sprint(o["volume_id"]))
			o["status"], o["size"], o["created_at"] = "available", vol["size"], now()
		}}
	backups := resource{col: "backups", path: "backups", singular: "backup", plural: "backups", detail: true, errs: novaErrors,
		createStatus: http.StatusAccepted, deleteStatus: http.StatusAccepted,
		create: func(o map[string]any) {
			o["status"], o["created_at"], o["object_count"] = "available", now(), 0
			if vol := x.st.get("volumes", fmt.Sprint(o["volume_id"])); vol != nil {
				o["size"] = vol["size"]
			}
		}}
	types := resource{col: "volume_types", path: "types", singular: "volume_type", plural: "volume_types", errs: novaErrors,
		createStatus: http.StatusOK, deleteStatus: http.StatusAccepted,
		create: func(o map[string]any) {
			setDefault(o, "os-volume-type-access:is_public", true)
			setDefault(o, "extra_specs", map[string]any{})
			setDefault(o, "description", nil)
			o["is_public"] = o["os-volume-type-access:is_public"]
		}}
	transfers := resource{col: "transfers", path: "volume-transfers", singular: "transfer", plural: "transfers", detail: true,
		errs: novaErrors, createStatus: http.StatusAccepted, deleteStatus: http.StatusAccepted,
		create: func(o map[string]any) { o["auth_key"], o["created_at"] = "b266151d4e8e4f14", now() }}
	qos := resource{col: "qos_specs", path: "qos-specs", singular: "qos_specs", plural: "qos_specs", errs: novaErrors,
		createStatus: http.StatusOK, deleteStatus: http.StatusAccepted,
		create: func(o map[string]any) {
			specs := map[string]any{}
			for k, v := range o {
				if k != "name" {
					specs[k] = v
					delete(o, k)
				}
			}
			o["specs"], o["consumer"] = specs, "back-end"
		}}
	if vars, ok := x.match("POST", "volumes/*/action"); ok {
		c.volumeAction(x, vars[0])
		return
	}
	if vars, ok := x.match("PUT", "qos-specs/*"); ok {
		q := x.st.get("qos_specs", vars[0])
		if q == nil {
			x.fail(novaErrors, http.StatusNotFound, "QoS Specs "+vars[0]+" could not be found.")
			return
		}
		specs, _ := q["specs"].(map[string]any)
		for k, v := range x.member("qos_specs") {
			specs[k] = v
		}
		x.json(http.StatusOK, map[string]any{"qos_specs": x.member("qos_specs")})
		return
	}
	for _, r := range []resource{volumes, snapshots, backups, types, transfers, qos} {
		if x.is("GET", "types/default") {
			break
		}
		if c.crud(x, r) {
			return
		}
	}
	switch {
	case x.is("GET", "types/default"):
		x.json(http.StatusOK, map[string]any{"volume_type": map[string]any{"id": "vt-default", "name": "__DEFAULT__", "is_public": true, "extra_specs": map[string]any{}}})
	case x.is("GET", "os-availability-zone"), x.is("GET", "os-availability-zone/detail"):
		x.json(http.StatusOK, map[string]any{"availabilityZoneInfo": []any{map[string]any{"zoneName": "nova", "zoneState": map[string]any{"available": true}}}})
	case x.is("GET", "limits"):
		x.json(http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]any{
			"maxTotalVolumes": 10, "maxTotalSnapshots": 10, "maxTotalVolumeGigabytes": 1000, "totalVolumesUsed": len(x.st.list("volumes"))}}})
	case x.is("GET", "os-services"):
		x.json(http.StatusOK, map[string]any{"services": []any{map[string]any{"binary": "cinder-volume", "host": "block-1@lvm",
			"zone": "nova", "status": "enabled", "state": "up", "updated_at": now()}}})
	case x.is("PUT", "os-services/enable"), x.is("PUT", "os-services/disable"), x.is("PUT", "os-services/disable-log-reason"):
		status := map[string]string{"enable": "enabled", "disable": "disabled", "disable-log-reason": "disabled"}[x.path[1]]
		out := map[string]any{"host": x.body["host"], "binary": x.body["binary"], "status": status, "disabled": status == "disabled"}
		if r, ok := x.body["disabled_reason"]; ok {
			out["disabled_reason"] = r
		}
		x.json(http.StatusOK, out)
	case x.is("GET", "scheduler-stats/get_pools"):
		x.json(http.StatusOK, map[string]any{"pools": []any{map[string]any{"name": "block-1@lvm#lvmdriver-1"}}})
	default:
		c.volumeMore(x)
	}
}

func (c *Cloud) volumeMore(x *exchange) {
	if vars, ok := x.match("POST", "volume-transfers/*/accept"); ok {
		t := x.st.get("transfers", vars[0])
		if t == nil {
			x.fail(novaErrors, http.StatusNotFound, "Transfer "+vars[0]+" could not be found.")
			return
		}
		if x.member("accept")["auth_key"] != t["auth_key"] {
			x.fail(novaErrors, http.StatusBadRequest, "Invalid auth key: Attempt to transfer "+vars[0]+" with invalid auth key.")
			return
		}
		x.st.delete("transfers", vars[0])
		x.json(http.StatusAccepted, map[string]any{"transfer": map[string]any{"id": vars[0], "name": t["name"], "volume_id": t["volume_id"]}})
		return
	}
	if vars, ok := x.match("POST", "backups/*/restore"); ok {
		b := x.st.get("backups", vars[0])
		if b == nil {
			x.fail(novaErrors, http.StatusNotFound, "Backup "+vars[0]+" could not be found.")
			return
		}
		in := x.member("restore")
		volID, _ := in["volume_id"].(string)
		if volID == "" {
			vol := map[string]any{"name": in["name"], "size": b["size"], "status": "restoring-backup"}
			volID = fmt.Sprint(x.st.put("volumes", vol, c.newID)["id"])
		}
		x.json(http.StatusAccepted, map[string]any{"restore": map[string]any{"backup_id": vars[0], "volume_id": volID, "volume_name": in["name"]}})
		return
	}
	if vars, ok := x.match("POST", "volumes/*/metadata"); ok {
		c.volumeMetadata(x, "volumes", vars[0], false)
		return
	}
	if vars, ok := x.match("PUT", "volumes/*/metadata"); ok {
		c.volumeMetadata(x, "volumes", vars[0], true)
		return
	}
	if vars, ok := x.match("POST", "snapshots/*/metadata"); ok {
		c.volumeMetadata(x, "snapshots", vars[0], false)
		return
	}
	if vars, ok := x.match("GET", "os-quota-sets/*"); ok {
		x.json(http.StatusOK, map[string]any{"quota_set": c.cinderQuotas(x, vars[0])})
		return
	}
	if vars, ok := x.match("PUT", "os-quota-sets/*"); ok {
		q := c.cinderQuotas(x, vars[0])
		for k, v := range x.member("quota_set") {
			q[k] = v
		}
		x.st.put("cinder_quotas", q, c.newID)
		x.json(http.StatusOK, map[string]any{"quota_set": withoutKey(q, "id")})
		return
	}
	x.fail(novaErrors, http.StatusNotFound, "The resource could not be found.")
}

func (c *Cloud) cinderQuotas(x *exchange, project string) map[string]any {
	if q := x.st.get("cinder_quotas", project); q != nil {
		return clone(q)
	}
	return map[string]any{"id": project, "volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10,
		"backup_gigabytes": 1000, "per_volume_gigabytes": -1, "groups": 10}
}

func (c *Cloud) volumeMetadata(x *exchange, col, id string, replace bool) {
	obj := x.st.get(col, id)
	if obj == nil {
		x.fail(novaErrors, http.StatusNotFound, fmt.Sprintf("%s %s could not be found.", col[:len(col)-1], id))
		return
	}
	md, _ := obj["metadata"].(map[string]any)
	if md == nil || replace {
		md = map[string]any{}
	}
	for k, v := range x.member("metadata") {
		md[k] = v
	}
	obj["metadata"] = md
	x.json(http.StatusOK, map[string]any{"metadata": md})
}

// volumeStates are the status a volume action leaves.
var volumeStates = map[string]string{
	"os-attach": "in-use", "os-detach": "available", "os-reserve": "attaching", "os-unreserve": "available",
	"os-begin_detaching": "detaching", "os-roll_detaching": "in-use",
}

// volumeAction is POST /volumes/{id}/action.
func (c *Cloud) volumeAction(x *exchange, id string) {
	vol := x.st.get("volumes", id)
	if vol == nil {
		x.fail(novaErrors, http.StatusNotFound, fmt.Sprintf("Volume %s could not be found.", id))
		return
	}
	action, ok := x.action()
	if !ok {
		return
	}
	args := x.member(action)
	if s, ok := volumeStates[action]; ok {
		vol["status"] = s
		x.empty(http.StatusAccepted)
		return
	}
	switch action {
	case "os-extend":
		n, _ := strconv.Atoi(fmt.Sprint(args["new_size"]))
		old, _ := strconv.Atoi(fmt.Sprint(vol["size"]))
		if n <= old {
			x.fail(novaErrors, http.StatusBadRequest, fmt.Sprintf("New size for extend must be greater than current size. (current: %d, extended: %d).", old, n))
			return
		}
		vol["size"] = n
	case "os-reset_status":
		vol["status"] = args["status"]
	case "os-set_bootable":
		vol["bootable"] = fmt.Sprint(args["bootable"] == true)
	case "os-update_readonly_flag":
		md, _ := vol["metadata"].(map[string]any)
		md["readonly"] = fmt.Sprint(args["readonly"] == true)
	case "os-retype":
		vol["volume_type"] = args["new_type"]
	case "os-force_delete":
		x.st.delete("volumes", id)
	case "os-unmanage", "os-terminate_connection":
	case "os-volume_upload_image":
		img := c.putImage(x.st, map[string]any{"name": args["image_name"], "status": "uploading", "disk_format": args["disk_format"],
			"container_format": args["container_format"], "visibility": "private", "tags": []any{}})
		x.json(http.StatusAccepted, map[string]any{"os-volume_upload_image": map[string]any{"id": id, "image_id": img["id"],
			"image_name": args["image_name"], "disk_format": args["disk_format"], "container_format": args["container_format"],
			"size": vol["size"], "status": "uploading", "volume_type": nil, "updated_at": now()}})
		return
	case "os-set_image_metadata":
		x.json(http.StatusOK, map[string]any{"metadata": args["metadata"]})
		return
	case "os-show_image_metadata":
		x.json(http.StatusOK, map[string]any{"metadata": map[string]any{"image_name": "cirros"}})
		return
	case "os-initialize_connection":
		x.json(http.StatusOK, map[string]any{"connection_info": map[string]any{"driver_volume_type": "iscsi",
			"data": map[string]any{"target_portal": "127.0.0.1:3260", "volume_id": id, "target_lun": 1}}})
		return
	default:
		x.fail(novaErrors, http.StatusBadRequest, "There is no such action: "+action)
		return
	}
	x.empty(http.StatusAccepted)
}
