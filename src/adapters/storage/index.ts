// Storage drivers (src/ports/storage.ts): Ceph RBD through the rbd and ceph tools (rbd.ts), DRBD 9 (drbd.ts).
export { RbdStorage, addressIp, parseBlocklist, parseLocks, parseWatchers, type RbdStorageOptions } from './rbd.js';
export { DrbdStorage, parseDrbdStatus, type DrbdState, type DrbdStorageOptions, type FencedPeerRecord } from './drbd.js';
