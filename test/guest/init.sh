#!/bin/busybox sh
# /init of the Linux guest test's initramfs: loads the USB host driver, then reports what the
# kernel sees of the emulated stick (from sysfs) around each step stick-host takes: boot, XLink,
# reset, then a second boot and an inference through mvnc. Every line the test reads starts
# with "GUEST ".
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Debian builds USB as modules, and the extracted package has no modules.dep: load in order.
for m in usb-common usbcore xhci-hcd xhci-pci; do insmod /lib/modules/$m.ko || echo "GUEST FAIL insmod $m"; done

# wait_for PID: the sysfs directory of the device 03e7:PID, waiting up to 20 s for it.
wait_for() {
  for i in $(seq 1 200); do
    for d in /sys/bus/usb/devices/*; do
      if [ "$(cat $d/idVendor 2>/dev/null)" = 03e7 ] && [ "$(cat $d/idProduct 2>/dev/null)" = "$1" ]; then echo $d; return 0; fi
    done
    sleep 0.1
  done
  return 1
}

# describe DIR: the device's descriptors as the kernel read them.
describe() {
  d=$1
  echo "GUEST device $(cat $d/idVendor):$(cat $d/idProduct) bcdUSB=$(cat $d/version | tr -d ' ') bcdDevice=$(cat $d/bcdDevice) class=$(cat $d/bDeviceClass) mps0=$(cat $d/bMaxPacketSize0) configs=$(cat $d/bNumConfigurations) speed=$(cat $d/speed)"
  echo "GUEST configuration value=$(cat $d/bConfigurationValue) attributes=$(cat $d/bmAttributes) power=$(cat $d/bMaxPower) interfaces=$(cat $d/bNumInterfaces | tr -d ' ')"
  echo "GUEST strings manufacturer=\"$(cat $d/manufacturer 2>/dev/null)\" product=\"$(cat $d/product 2>/dev/null)\" serial=\"$(cat $d/serial 2>/dev/null)\""
  for i in $d/*:*; do
    [ -d "$i" ] || continue
    eps=""
    for e in $i/ep_*; do [ -d "$e" ] && eps="$eps $(basename $e)/$(cat $e/type)/$(cat $e/wMaxPacketSize)"; done
    echo "GUEST interface $(cat $i/bInterfaceNumber) class=$(cat $i/bInterfaceClass)/$(cat $i/bInterfaceSubClass)/$(cat $i/bInterfaceProtocol) endpoints:$eps"
  done
}

d=$(wait_for 2485) && describe $d || echo "GUEST FAIL no 03e7:2485"
/bin/stick-host boot /image.mvcmd | sed 's/^/GUEST host /'
d=$(wait_for f63b) && describe $d || echo "GUEST FAIL no 03e7:f63b"
/bin/stick-host xlink | sed 's/^/GUEST host /'
d=$(wait_for 2485) && describe $d || echo "GUEST FAIL no 03e7:2485 after the reset"
echo "GUEST dmesg: $(dmesg | grep -c 'usb 1-1: USB disconnect') disconnects"
# The same stick once more, from its ROM: a graph through mvnc, then mvnc's closing reset.
/bin/stick-host boot /image.mvcmd | sed 's/^/GUEST host /'
d=$(wait_for f63b) && describe $d || echo "GUEST FAIL no 03e7:f63b after the second boot"
/bin/stick-host mvnc /tiny-relu.graph /input.bin /expected.bin | sed 's/^/GUEST mvnc /'
d=$(wait_for 2485) && describe $d || echo "GUEST FAIL no 03e7:2485 after the mvnc reset"
echo "GUEST dmesg after mvnc: $(dmesg | grep -c 'usb 1-1: USB disconnect') disconnects"
echo "GUEST done"
poweroff -f
