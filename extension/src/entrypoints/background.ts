import { defineBackground } from 'wxt/utils/define-background';
import { startBackground } from '../background/start-background';

export default defineBackground(() => startBackground());
