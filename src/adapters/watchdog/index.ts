export { LinuxWatchdog, WatchdogOpenError, type LinuxWatchdogOptions } from './linux-watchdog.js';
