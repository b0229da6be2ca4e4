// Records what a console page alerts with: desktop notifications (window.shownNotifications, with the
// permission `permission` to start from; asking grants it) and the tones of the sound alert (window.tones).
export function recordAlerts(page, permission = "default") {
  return page.addInitScript((initial) => {
    window.shownNotifications = [];
    window.Notification = class {
      static permission = initial;
      static requestPermission() {
        window.Notification.permission = "granted";
        return Promise.resolve("granted");
      }
      constructor(title, options) {
        window.shownNotifications.push({ title, body: options.body, tag: options.tag });
      }
      close() {}
    };
    window.tones = 0;
    const createOscillator = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function () {
      window.tones += 1;
      return createOscillator.call(this);
    };
  }, permission);
}
