export { TcpProbe, splitAddress } from './tcp-probe.js';
