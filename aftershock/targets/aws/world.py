"""The platform a dry run assumes: the target file's description, answering like AWS would.

A dry run sends nothing, but the driver's code decides its next call from
what it read (which cluster is the writer, which NACL a subnet has now).
So a dry run answers every read from this small simulation: the steady
state the target file describes (the writer in `database.primary_region`,
every health check not inverted), with `<placeholders>` for what only AWS
knows (association ids, instance names). Changes the driver makes are
applied to it, so the undo that follows plans against the state the fault
left, exactly as it would run.
"""

from __future__ import annotations

from typing import Any

from aftershock.config.target_file import TargetFile


class World:
    """The simulated AWS side of one dry run."""

    def __init__(self, target: TargetFile) -> None:
        self.target = target
        self.writer = target.regions[target.primary_region].aurora_cluster_arn
        self.instance_writer = {
            r.aurora_cluster_id: f"<writer instance of {r.aurora_cluster_id}>"
            for r in target.regions.values()
        }
        subnets = [s for r in target.regions.values() for s in r.isolation.subnet_ids]
        self.nacl = {s: f"<NACL of {s}>" for s in subnets}
        self.association = {s: f"<association of {s}>" for s in subnets}
        self.created: dict[str, dict[str, str]] = {}  # NACL id -> tags
        self.inverted = {r.health_check_id: False for r in target.regions.values()}
        self.experiments: dict[str, dict[str, Any]] = {}
        self.cache_primary = {
            r.cache_replication_group: f"<primary of {r.cache_replication_group}>"
            for r in target.regions.values()
        }
        primary = target.regions[target.primary_region]
        self.global_primary = (primary.aws_region, primary.cache_replication_group)
        self.counter = 0

    def respond(
        self, service: str, region: str, operation: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        handler = getattr(self, f"_{service}_{operation}", None)
        return handler(region, params) if handler else {}

    def _next(self, what: str) -> str:
        self.counter += 1
        return f"<{what} #{self.counter}>"

    # rds
    def _rds_describe_global_clusters(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        members = [
            {"DBClusterArn": r.aurora_cluster_arn, "IsWriter": r.aurora_cluster_arn == self.writer}
            for r in self.target.regions.values()
        ]
        return {
            "GlobalClusters": [
                {
                    "GlobalClusterIdentifier": self.target.global_cluster_id,
                    "Status": "available",
                    "GlobalClusterMembers": members,
                }
            ]
        }

    def _rds_describe_db_clusters(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        cluster = params["DBClusterIdentifier"]
        writer = self.instance_writer.get(cluster, f"<writer instance of {cluster}>")
        members = [
            {"DBInstanceIdentifier": writer, "IsClusterWriter": True},
            {"DBInstanceIdentifier": f"<a reader of {cluster}>", "IsClusterWriter": False},
        ]
        return {
            "DBClusters": [
                {"DBClusterIdentifier": cluster, "Status": "available", "DBClusterMembers": members}
            ]
        }

    def _rds_describe_db_instances(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": params["DBInstanceIdentifier"],
                    "DBInstanceStatus": "available",
                }
            ]
        }

    def _rds_failover_global_cluster(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.writer = params["TargetDbClusterIdentifier"]
        return {"GlobalCluster": {"GlobalClusterIdentifier": params["GlobalClusterIdentifier"]}}

    _rds_switchover_global_cluster = _rds_failover_global_cluster

    def _rds_failover_db_cluster(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        cluster = params["DBClusterIdentifier"]
        target = params.get("TargetDBInstanceIdentifier", f"<a reader of {cluster}>")
        self.instance_writer[cluster] = target
        return {"DBCluster": {"DBClusterIdentifier": cluster}}

    # ec2
    def _ec2_describe_network_acls(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        filters = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
        if "association.subnet-id" in filters:
            acls = [
                {
                    "NetworkAclId": self.nacl[s],
                    "Associations": [
                        {
                            "NetworkAclAssociationId": self.association[s],
                            "NetworkAclId": self.nacl[s],
                            "SubnetId": s,
                        }
                    ],
                }
                for s in filters["association.subnet-id"]
                if s in self.nacl
            ]
            return {"NetworkAcls": acls}
        tags = {k[4:]: v for k, v in filters.items() if k.startswith("tag:")}
        found = [
            {"NetworkAclId": acl, "Associations": []}
            for acl, have in self.created.items()
            if all(have.get(k) in v for k, v in tags.items())
        ]
        return {"NetworkAcls": found}

    def _ec2_create_network_acl(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        acl = self._next(f"new NACL in {params['VpcId']}")
        tags = {
            t["Key"]: t["Value"]
            for spec in params.get("TagSpecifications", [])
            for t in spec.get("Tags", [])
        }
        self.created[acl] = tags
        return {"NetworkAcl": {"NetworkAclId": acl}}

    def _ec2_replace_network_acl_association(
        self, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        for subnet, association in self.association.items():
            if association == params["AssociationId"]:
                self.nacl[subnet] = params["NetworkAclId"]
                self.association[subnet] = self._next(f"association of {subnet}")
                return {"NewAssociationId": self.association[subnet]}
        return {"NewAssociationId": self._next("association")}

    def _ec2_delete_network_acl(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.created.pop(params["NetworkAclId"], None)
        return {}

    # route53
    def _route53_get_health_check(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        check = params["HealthCheckId"]
        return {
            "HealthCheck": {
                "Id": check,
                "HealthCheckVersion": 1,
                "HealthCheckConfig": {"Inverted": self.inverted.get(check, False)},
            }
        }

    def _route53_update_health_check(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.inverted[params["HealthCheckId"]] = bool(params.get("Inverted"))
        return self._route53_get_health_check(region, params)

    def _route53_get_health_check_status(
        self, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        failing = self.inverted.get(params["HealthCheckId"], False)
        status = "Failure: (inverted)" if failing else "Success: HTTP Status Code 200, OK"
        return {
            "HealthCheckObservations": [
                {"Region": "<each checker>", "StatusReport": {"Status": status}}
            ]
        }

    # fis
    def _fis_start_experiment(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        experiment = self._next(f"experiment of {params['experimentTemplateId']}")
        self.experiments[experiment] = {
            "id": experiment,
            "tags": params.get("tags", {}),
            "experimentTemplateId": params["experimentTemplateId"],
            "state": {"status": "running"},
        }
        return {"experiment": self.experiments[experiment]}

    def _fis_list_experiments(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        template = params.get("experimentTemplateId")
        return {
            "experiments": [
                e
                for e in self.experiments.values()
                if template in (None, e["experimentTemplateId"])
            ]
        }

    def _fis_stop_experiment(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        if params["id"] in self.experiments:
            self.experiments[params["id"]]["state"] = {"status": "stopping"}
        return {"experiment": {"id": params["id"], "state": {"status": "stopping"}}}

    # elasticache
    def _elasticache_describe_replication_groups(
        self, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        group = params["ReplicationGroupId"]
        primary = self.cache_primary.get(group, f"<primary of {group}>")
        members = [
            {"CacheClusterId": primary, "CurrentRole": "primary"},
            {"CacheClusterId": f"<replica of {group}>", "CurrentRole": "replica"},
        ]
        node_group = next(
            (
                r.cache_node_group
                for r in self.target.regions.values()
                if r.cache_replication_group == group
            ),
            "0001",
        )
        return {
            "ReplicationGroups": [
                {
                    "ReplicationGroupId": group,
                    "Status": "available",
                    "NodeGroups": [{"NodeGroupId": node_group, "NodeGroupMembers": members}],
                }
            ]
        }

    def _elasticache_test_failover(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        group = params["ReplicationGroupId"]
        self.cache_primary[group] = f"<replica of {group}>"
        return {"ReplicationGroup": {"ReplicationGroupId": group}}

    def _elasticache_modify_replication_group(
        self, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        if "PrimaryClusterId" in params:
            self.cache_primary[params["ReplicationGroupId"]] = params["PrimaryClusterId"]
        return {"ReplicationGroup": {"ReplicationGroupId": params["ReplicationGroupId"]}}

    def _elasticache_describe_global_replication_groups(
        self, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        members = [
            {
                "ReplicationGroupId": r.cache_replication_group,
                "ReplicationGroupRegion": r.aws_region,
                "Role": "PRIMARY"
                if r.cache_replication_group == self.global_primary[1]
                else "SECONDARY",
            }
            for r in self.target.regions.values()
        ]
        group = {"GlobalReplicationGroupId": params["GlobalReplicationGroupId"],
                 "Status": "available", "Members": members}  # fmt: skip
        return {"GlobalReplicationGroups": [group]}

    def _elasticache_failover_global_replication_group(
        self, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.global_primary = (params["PrimaryRegion"], params["PrimaryReplicationGroupId"])
        return {"GlobalReplicationGroup": {"GlobalReplicationGroupId": params[
            "GlobalReplicationGroupId"]}}  # fmt: skip

    # kafka (MSK): a rebooted broker's cluster is planned as ACTIVE again
    def _kafka_describe_cluster_v2(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"ClusterInfo": {"ClusterArn": params["ClusterArn"], "State": "ACTIVE"}}

    # cloudwatch: a dry run cannot know a metric
    def _cloudwatch_get_metric_statistics(
        self, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"Datapoints": []}
