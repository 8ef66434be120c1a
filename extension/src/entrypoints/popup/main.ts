import { startPopup } from '../../popup/popup-view';

void startPopup();
