// The local cluster's public face: `fleet cluster up | status | down` and the pure parts their tests reach.
export { findClusterBinaries, INSTALL_LINE } from './binaries.js';
export { API_BACKEND, haproxyConfig, MQTT_BACKEND, parseShowStat, type BackendServerState } from './haproxy-config.js';
export { type ClusterLayout, type ClusterPlan, clusterLayout, requirePlan, type NodePlan } from './layout.js';
export { clusterDown, clusterUp, partNames, type StopOutcome, type UpOptions, type UpResult } from './lifecycle.js';
export { mqttUrl } from './nodes.js';
export { ADMIN_OPERATOR, operatorKeyPath, SIM_PREFIX, simFolder } from './seed.js';
export { aggregateStatus, clusterStatus, type ClusterStatus, type PartProbe, type PartStatus } from './status.js';
export { type ConnectInfo, connectInfo } from './connect-info.js';
