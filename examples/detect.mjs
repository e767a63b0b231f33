// Minimal library use: node examples/detect.mjs <image> [model]
import { Detector } from 'yolo-trt';

const [image = '../shared/assets/images/bus.jpg', model = '../shared/assets/models/yolo11n.onnx'] =
  process.argv.slice(2);

const detector = await Detector.create({ model }); // backend 'auto': tensorrt where usable, else cpu
try {
  const result = await detector.detect(image);
  console.log(`${image}: ${result.width}x${result.height} on ${detector.backend}`, result.speed);
  for (const d of result.detections) {
    console.log(d.name, d.conf.toFixed(2), d.box.map((v) => v.toFixed(1)).join(' '));
  }
} finally {
  await detector.dispose();
}
