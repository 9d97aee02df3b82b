// Cluster mode's public face: a node's Redis side, the bus events and the revocation feed.
export { type ClusterNode, type ClusterOptions, fleetNamespace, startClusterNode } from './node.js';
export { type BusEvent, NODE_ID_PATTERN, type OutgoingBusEvent, parseBusMessage } from './events.js';
export { busEventHandler } from './apply-events.js';
export { createRevocationFeed, revocationEvents } from './revocation-feed.js';
export { redactedRedisUrl } from './connection.js';
