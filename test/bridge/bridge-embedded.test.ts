/** The bridge on the embedded broker (the default setup). */
import { describeBridge } from './bridge-suite.ts';

describeBridge('embedded');
