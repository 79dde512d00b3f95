// The File Handling API (manifest `file_handlers`): files opened from the operating system into the
// installed app arrive through `window.launchQueue`. Chromium only; not yet in TypeScript's DOM types.
interface LaunchParams {
  readonly files: readonly FileSystemFileHandle[];
}

interface LaunchQueue {
  setConsumer(consumer: (params: LaunchParams) => void | Promise<void>): void;
}

interface Window {
  readonly launchQueue?: LaunchQueue;
}
