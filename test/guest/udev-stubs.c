/*
 * Debian's static libusb refers to libudev, which has no static library. stick-host turns
 * libusb's device discovery off (it finds the stick in sysfs and wraps the usbfs node), so
 * libusb never calls these; they exist for the linker, and fail if ever called.
 */
#include <stddef.h>

void *udev_device_get_action(void) { return NULL; }
void *udev_device_get_devnode(void) { return NULL; }
void *udev_device_get_sysname(void) { return NULL; }
void *udev_device_new_from_syspath(void) { return NULL; }
void *udev_device_unref(void) { return NULL; }
void *udev_enumerate_add_match_property(void) { return NULL; }
void *udev_enumerate_add_match_subsystem(void) { return NULL; }
void *udev_enumerate_get_list_entry(void) { return NULL; }
void *udev_enumerate_new(void) { return NULL; }
void *udev_enumerate_scan_devices(void) { return NULL; }
void *udev_enumerate_unref(void) { return NULL; }
void *udev_list_entry_get_name(void) { return NULL; }
void *udev_list_entry_get_next(void) { return NULL; }
void *udev_monitor_enable_receiving(void) { return NULL; }
void *udev_monitor_filter_add_match_subsystem_devtype(void) { return NULL; }
void *udev_monitor_get_fd(void) { return NULL; }
void *udev_monitor_new_from_netlink(void) { return NULL; }
void *udev_monitor_receive_device(void) { return NULL; }
void *udev_monitor_unref(void) { return NULL; }
void *udev_new(void) { return NULL; }
void *udev_unref(void) { return NULL; }
