import { mountMenuCommands } from '../../popup/menu-commands-view';
import { startPopup } from '../../popup/popup-view';

void startPopup();
void mountMenuCommands();
