// Written by `npm run calibrate:abstention`; do not edit by hand. Its shape: AnswerabilityModel.
export const FITTED = {
  mean: [0.659115, 0.668026, 0.743053, 0.2055, 0.028986, 0.140097, 0.914902, 0.242717, 0.474433],
  deviation: [0.240838, 0.210188, 0.196904, 0.404066, 0.167766, 0.347087, 0.279028, 0.222716, 0.161193],
  weights: [0.51211, 0.133653, -0.163015, -0.104829, -0.214423, -0.386595, 0.122674, -0.185451, 0.141896],
  bias: -0.300403,
  threshold: 0.207994,
  fittedOn:
    "squad2, split calibration: 1167 answerable questions whose answer was retrieved, 1524 unanswerable; threshold for 0.97 of the answerable answered",
};
