// Written by `npm run calibrate:abstention`; do not edit by hand. Its shape: AnswerabilityModel.
export const FITTED = {
  mean: [
    0.659115, 0.668026, 0.743053, 0.2055, 0.028986, 0.140097, 0.914902, 0.242717, 0.474433, 0.020438, 0.31533,
    0.423139,
  ],
  deviation: [
    0.240838, 0.210188, 0.196904, 0.404066, 0.167766, 0.347087, 0.279028, 0.222716, 0.161193, 0.141495,
    0.212759, 0.326618,
  ],
  weights: [
    0.247749, 0.283515, -0.102733, -0.104886, -0.215333, -0.394369, 0.121591, -0.18766, 0.099903, -0.272372,
    -0.16453, 0.053411,
  ],
  bias: -0.309937,
  threshold: 0.206113,
  fittedOn:
    "squad2, split calibration: 1167 answerable questions whose answer was retrieved, 1524 unanswerable; threshold for 0.97 of the answerable answered",
};
